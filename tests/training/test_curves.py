"""Training curves (--logger): what TensorBoard's own reader and the CSV logger's metrics.csv
give back are the numbers each run recorded, for search trials (one or two workers), a pruned
trial, a finalize member and a train run."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from harness.cli import main
from harness.metrics import MACRO_F1, SCORE
from harness.search import Objective
from harness.storage.artifacts import load_epoch_log
from harness.training import Curves
from tests.conftest import HORIZONS
from tests.search.test_objective import recipe
from tests.test_cli import tiny_project

Curve = dict[tuple[str, int], float]  # (tag, epoch) -> value
TAGS = [f"val/{MACRO_F1}_h{h}" for h in HORIZONS]


@pytest.fixture(autouse=True)
def _in_a_tiny_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    tiny_project(cwd)  # 2 epochs of 3 batches, the random sampler, no pruner
    return cwd


def search(data: Path, storage: str, logger: str, *more: str) -> list[FrozenTrial]:
    argv = ["search", "--model", "nhits", "--data", str(data), "--storage", storage]
    argv += ["--study", "s", "--profile", "cpu", "--logger", logger, *more]
    assert main(argv) == 0
    return optuna.load_study(study_name="s", storage=storage).trials


def recorded(epochs: list[dict[str, Any]]) -> Curve:
    """Each epoch's val macro-F1 per horizon, from an epoch log (JSON: horizons as strings)."""
    return {
        (f"val/{MACRO_F1}_h{h}", e["epoch"]): e["val"][str(h)][MACRO_F1]
        for e in epochs
        for h in HORIZONS
    }


def from_tensorboard(run: Path, tags: list[str]) -> Curve:
    events = EventAccumulator(str(run))
    events.Reload()
    return {(tag, e.step): e.value for tag in tags for e in events.Scalars(tag)}


def from_csv(run: Path, tags: list[str]) -> Curve:
    with (run / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    return {(tag, int(row["step"])): float(row[tag]) for row in rows for tag in tags}


def test_tensorboard_reads_back_the_val_macro_f1_each_trial_recorded_per_epoch(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    trials = search(tiny_dataset, f"sqlite:///{tmp_path}/s.db", "tensorboard", "--trials", "2")

    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    for t in trials:
        run = tmp_path / "artifacts" / "logs" / "s" / f"trial_{t.number}"
        log = load_epoch_log(t, tmp_path / "artifacts")
        assert log is not None and len(log) == 2
        want = recorded(log)
        assert from_tensorboard(run, TAGS) == pytest.approx(want, rel=1e-6)  # float32 events
        scores = from_tensorboard(run, [SCORE])
        assert scores == pytest.approx({(SCORE, e): v for e, v in t.intermediate_values.items()})
        assert from_tensorboard(run, ["lr"]) == pytest.approx(
            {("lr", e["epoch"]): e["lr"] for e in log}
        )


@pytest.mark.slow
def test_csv_curves_of_two_workers_and_of_a_finalize_member_hold_what_they_recorded(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path}/s.db"
    trials = search(tiny_dataset, storage, "csv", "--trials", "2", "--jobs", "2")
    logs = tmp_path / "artifacts" / "logs" / "s"

    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    for t in trials:
        log = load_epoch_log(t, tmp_path / "artifacts")
        assert log is not None
        assert from_csv(logs / f"trial_{t.number}", TAGS) == recorded(log)

    out = tmp_path / "results"
    argv = ["finalize", "--model", "nhits", "--data", str(tiny_dataset), "--storage", storage]
    assert main([*argv, "--study", "s", "--out", str(out), "--logger", "csv"]) == 0
    lines = (out / "logs" / "nhits_training.log").read_text().splitlines()
    member = [json.loads(x[x.index("{") :]) | {"epoch": int(x.split()[1])} for x in lines[3:5]]
    assert from_csv(logs / "finalize_member_1", TAGS) == recorded(member)


def test_a_pruned_trial_keeps_the_curves_of_the_epochs_it_finished(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    # epoch 0 is the warm-up; epoch 1 scores below any reachable threshold and prunes
    r = recipe(tiny_dataset, pruner={"type": "threshold", "lower": 100.0, "n_warmup_steps": 1})
    study = optuna.create_study(direction="maximize", pruner=r.objective.make_pruner(r.budget))
    curves = Curves("csv", tmp_path / "logs", "s")
    study.optimize(Objective(r, seed=0, curves=curves), n_trials=1)

    (trial,) = study.trials
    assert trial.state == TrialState.PRUNED
    assert from_csv(tmp_path / "logs" / "s" / "trial_0", [SCORE]) == pytest.approx(
        {(SCORE, 0): trial.intermediate_values[0]}
    )


def test_train_logs_a_new_run_beside_its_log_each_time(tiny_dataset: Path, tmp_path: Path) -> None:
    log = tmp_path / "train" / "nhits.log"
    argv = ["train", "--model", "nhits", "--data", str(tiny_dataset), "--profile", "cpu"]
    argv += ["--epochs", "2", "--max-batches", "2", "--log", str(log), "--logger", "csv"]
    assert main(argv) == 0
    assert main(argv) == 0

    runs = tmp_path / "train" / "logs" / "nhits"
    assert sorted(p.name for p in runs.iterdir()) == ["version_0", "version_1"]
    lines = log.read_text().splitlines()[1:]  # the second run's epochs
    epochs = [json.loads(x[x.index("{") :]) | {"epoch": int(x.split()[1])} for x in lines]
    assert from_csv(runs / "version_1", TAGS) == recorded(epochs)


@pytest.mark.parametrize("command", ["train", "search", "finalize"])
def test_tensorboard_without_its_package_is_one_line_naming_the_extra(
    command: str,
    tiny_dataset: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if it were not installed
    argv = [command, "--model", "nhits", "--data", str(tiny_dataset), "--logger", "tensorboard"]
    storage = [] if command == "train" else ["--storage", f"sqlite:///{tmp_path}/s.db"]
    assert main([*argv, *storage]) == 2

    err = capsys.readouterr().err.strip()
    assert err == (
        "error: --logger tensorboard needs the tensorboard package: "
        "pip install 'harness[tensorboard]'"
    )
    assert not (tmp_path / "artifacts").exists()  # refused before any trial


def test_a_search_without_an_artifact_folder_refuses_a_logger(
    tiny_dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["search", "--model", "nhits", "--data", str(tiny_dataset), "--logger", "csv"]
    assert main([*argv, "--storage", "sqlite:///:memory:"]) == 2
    assert "--logger csv writes its curves into the artifact folder" in capsys.readouterr().err
