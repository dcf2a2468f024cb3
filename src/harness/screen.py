"""Lines for a terminal: wrapped between words, never inside one; plain lines elsewhere."""

from __future__ import annotations

import textwrap

from rich.console import Console

INDENT = "  "  # continuation lines of a wrapped line


def fit(text: str, width: int) -> list[str]:
    """`text` as lines of at most `width` columns, cut only at spaces; a word longer than the
    width (a study name, a path) keeps a line of its own, whole. Rich's own wrapping cannot
    do this: it either folds a long word or crops the line, so textwrap does it."""
    lines: list[str] = []
    for line in text.splitlines() or [""]:
        lead = line[: len(line) - len(line.lstrip(" "))]
        lines += textwrap.wrap(
            line,
            width,
            subsequent_indent=lead + INDENT,
            break_long_words=False,
            break_on_hyphens=False,  # "nhits-cpu-1a2b3c4d" is one name
        ) or [""]
    return lines


def show(console: Console, text: str) -> None:
    """Print `text`: fitted to the width on a terminal; as it is (one line per line, no
    control codes) in a file or a pipe, where nothing wraps it."""
    out = "\n".join(fit(text, console.width)) if console.is_terminal else text
    console.print(out, highlight=False, soft_wrap=True)


def duration(seconds: float) -> str:
    """A time span as a person reads it: "8.5 s", "42 s", "12 min", "3.4 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
