"""Lines fitted to a terminal: cut between words only, long names whole on a line of their own."""

from __future__ import annotations

import io

from rich.console import Console

from harness.screen import duration, fit, show

LONG_PATH = "/data/" + "phase1-" * 14 + "bars/data/final"  # 109 characters, no space


def test_fit_cuts_between_words_and_never_inside_one() -> None:
    words = [f"word{k}" for k in range(60)]
    lines = fit(" ".join(words), 80)
    assert len(lines) > 1
    assert all(len(line) <= 80 for line in lines)
    assert [w for line in lines for w in line.split()] == words


def test_a_word_longer_than_the_width_keeps_a_line_of_its_own_whole() -> None:
    lines = fit(f"No Phase 1 data in {LONG_PATH}: using the demo dataset", 80)
    assert f"{LONG_PATH}:" in [line.strip() for line in lines]  # whole, alone
    assert all(len(line) <= 80 for line in lines if LONG_PATH not in line)


def test_show_fits_a_terminal_and_leaves_a_pipe_one_plain_line() -> None:
    text = "a " * 60 + LONG_PATH
    tty, pipe = io.StringIO(), io.StringIO()
    show(Console(file=tty, width=80, force_terminal=True, color_system=None), text)
    show(Console(file=pipe, width=80), text)
    assert all(len(line) <= 80 for line in tty.getvalue().splitlines() if LONG_PATH not in line)
    assert LONG_PATH in tty.getvalue().splitlines()[-1]
    assert pipe.getvalue() == text + "\n"


def test_duration_reads_as_seconds_minutes_or_hours() -> None:
    assert [duration(s) for s in (8.46, 42, 720, 12240)] == ["8.5 s", "42 s", "12 min", "3.4 h"]
