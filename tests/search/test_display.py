"""What a search shows, read from trials as the storage holds them: at 80 columns no line is
longer and no name is cut; in a pipe plain lines, no control codes."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console

from harness.search.display import SearchDisplay, eta_seconds, status_lines, storage_status
from harness.search.progress import MAX_EPOCHS

NOW = datetime(2025, 1, 1, 12, 0, 0)
LONG_STUDY = "patchtst-seed-" + "a-rather-long-study-name-" * 4 + "1a2b3c4d"  # 114 characters
LONG_VALUE = "preset_" + "x" * 90  # a parameter value wider than the screen


def trial(
    number: int,
    state: TrialState,
    *,
    seconds: float,
    scores: tuple[float, ...] = (),
    planned: int | None = 6,
) -> FrozenTrial:
    start = NOW - timedelta(seconds=seconds)
    finished = state != TrialState.RUNNING
    return FrozenTrial(
        number=number,
        state=state,
        value=max(scores) if state == TrialState.COMPLETE else None,
        datetime_start=start,
        datetime_complete=NOW if finished else None,
        params={"pooling": LONG_VALUE, "dropout": 0.1},
        distributions={
            "pooling": CategoricalDistribution([LONG_VALUE]),
            "dropout": CategoricalDistribution([0.1]),
        },
        user_attrs={} if planned is None else {MAX_EPOCHS: planned},
        system_attrs={},
        intermediate_values=dict(enumerate(scores)),
        trial_id=number,
    )


TRIALS = [
    trial(0, TrialState.COMPLETE, seconds=10, scores=(0.30, 0.41)),
    trial(1, TrialState.PRUNED, seconds=10, scores=(0.10,)),
    trial(2, TrialState.RUNNING, seconds=4, scores=(0.25, 0.38, 0.33)),
    trial(3, TrialState.RUNNING, seconds=1),
]


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=80, force_terminal=True, color_system=None), out


def test_running_trials_show_epoch_of_budget_last_best_and_time() -> None:
    lines = status_lines(TRIALS, 10, NOW)
    assert "  trial   2  epoch 3/6  last 0.3300  best 0.3800  4.0 s" in lines
    assert "  trial   3  epoch 0/6  1.0 s" in lines


def test_eta_is_the_mean_finished_trial_for_each_left_less_the_running_work_per_worker() -> None:
    # 8 trials left at 10 s each, less the 4 s and 1 s the running two have done, on 2 workers
    assert eta_seconds(TRIALS, 10, NOW) == (8 * 10 - 5) / 2
    assert eta_seconds(TRIALS[2:], 10, NOW) is None  # nothing finished: no mean yet
    assert "ETA 38 s" in status_lines(TRIALS, 10, NOW)[0]


def test_at_80_columns_no_line_is_longer_and_long_names_stay_whole() -> None:
    console, out = terminal()
    with SearchDisplay(console, study=LONG_STUDY, target=10) as display:
        display.trial_done(TRIALS[0])
        display.tick(TRIALS)
    display.summary(TRIALS)
    # The screen's lines: the status block's cursor moves and line clears taken out.
    lines = re.split(r"[\r\n]+", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue()))
    whole = [line for line in lines if LONG_STUDY in line or LONG_VALUE in line]
    assert [line.strip() for line in whole if LONG_STUDY in line] == [LONG_STUDY]
    assert {line.strip() for line in whole if LONG_VALUE in line} == {f"pooling={LONG_VALUE}"}
    assert all(len(line) <= 80 for line in lines if line not in whole)


def test_in_a_pipe_each_scored_epoch_is_one_plain_line_without_control_codes() -> None:
    out = io.StringIO()
    display = SearchDisplay(Console(file=out, width=80), study=LONG_STUDY, target=10)
    with display:
        display.tick(TRIALS)
        display.tick(TRIALS)  # nothing new: nothing printed
        display.trial_done(TRIALS[0])
    text = out.getvalue()
    assert "\x1b" not in text
    lines = text.splitlines()
    lines[1:3] = [line.rsplit("  ", 1)[0] for line in lines[1:3]]  # elapsed: since NOW
    assert lines == [
        f"running trials until 10 finished in study {LONG_STUDY}",
        "trial   2  epoch 3/6  last 0.3300  best 0.3800",
        "trial   3  epoch 0/6",
        f"trial   0 complete  score 0.4100  pooling={LONG_VALUE} dropout=0.1",
    ]


def test_status_gives_each_study_name_a_line_of_its_own() -> None:
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(study_name=LONG_STUDY, storage=storage, direction="maximize")
    study.set_user_attr("model", "patchtst")
    study.set_user_attr("profile", "cpu")
    study.add_trial(TRIALS[0])
    lines = storage_status(storage)
    assert lines[:2] == [
        LONG_STUDY,
        "  model patchtst, profile cpu: 1 complete, 0 pruned, 0 failed, 0 running",
    ]
    assert lines[2].startswith("  best 0.4100 (trial 0): pooling=")


def test_status_says_where_and_with_what_each_best_trial_ran() -> None:
    storage = optuna.storages.InMemoryStorage()
    worker = {"host": "gpu-7", "harness": "0.3.0", "commit": "0123456789ab-dirty"}
    worker |= {"torch": "2.5.1", "lightning": "2.4.0", "optuna": "5.1.0", "device": "NVIDIA H100"}
    worker["precision"] = "bf16-mixed"
    worse = optuna.trial.create_trial(value=0.1, user_attrs={"worker": {**worker, "host": "b"}})
    best = optuna.trial.create_trial(value=0.9, user_attrs={"worker": worker})
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    study.add_trials([worse, best])
    bare = optuna.create_study(study_name="older", storage=storage, direction="maximize")
    bare.add_trial(optuna.trial.create_trial(value=0.5))  # made before trials recorded theirs
    lines = storage_status(storage)
    assert lines[2].startswith("  best 0.9000 (trial 1)")
    assert lines[3] == (
        "  ran on gpu-7, NVIDIA H100: harness 0.3.0 (commit 0123456789ab-dirty), torch 2.5.1, "
        "lightning 2.4.0, optuna 5.1.0"
    )
    assert lines[4:] == [
        "older",
        "  model ?, profile ?: 1 complete, 0 pruned, 0 failed, 0 running",
        "  best 0.5000 (trial 0): ",
    ]


def test_the_summary_says_why_the_search_stopped_once() -> None:
    out = io.StringIO()
    display = SearchDisplay(Console(file=out, width=200), study="s", target=10)
    with display:
        display.tick(TRIALS)
    display.summary(TRIALS, timeout=5.0)
    lines = out.getvalue().splitlines()
    assert "stopped: --timeout 5 s reached with" in lines[-3] and "of 10 trials" in lines[-3]
    assert "ETA" not in lines[-2] and lines[-2].startswith("trials ")
    assert len(lines) == len(set(lines))  # nothing said twice

    out = io.StringIO()
    display = SearchDisplay(Console(file=out, width=200), study="s", target=2)
    display.summary(TRIALS)
    assert out.getvalue().startswith("stopped: the study holds")
