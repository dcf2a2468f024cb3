"""Searches end to end on the demo data, with tiny budgets and SQLite in a temp folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from harness.cli import main
from harness.data.demo import make_demo
from harness.search.objective import Caps
from harness.search.run import SearchRequest, prepare_search, run_search

ROOT = Path(__file__).resolve().parents[2]
MODELS = ("nhits", "tft", "patchtst")
ATTRS = (
    "config",
    "val_metrics",
    "train_metrics",
    "train_val_gap",
    "epochs",
    "seconds",
    "best_epoch",
    "data_fingerprint",
)


def request(tmp_path: Path, model: str, trials: int, **kw: object) -> SearchRequest:
    fields: dict[str, object] = {
        "model": model,
        "trials": trials,
        "space_file": ROOT / "search_spaces" / f"{model}.yaml",
        "objective_file": ROOT / "objectives" / f"{model}.yaml",
        "storage": f"sqlite:///{tmp_path}/studies.db",
        "caps": Caps(epochs=2, batches=2),
    }
    fields.update(kw)
    return SearchRequest(**fields)  # type: ignore[arg-type]


def study_of(req: SearchRequest, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=req.storage)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no Phase 1 data here: the demo dataset is used


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_a_search_completes_and_its_trials_keep_what_they_ran(tmp_path: Path, model: str) -> None:
    req = request(tmp_path, model, trials=2)
    prepared = prepare_search(req, say=lambda _: None)
    seen = []
    trials = run_search(prepared, on_trial=seen.append)

    assert prepared.study_name.startswith(f"{model}-demo-")
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    assert sorted(t.number for t in seen) == [0, 1]
    for t in trials:
        for key in ATTRS:
            assert key in t.user_attrs, key
        assert t.user_attrs["config"]["model"] == model
        assert set(t.user_attrs["val_metrics"]) == {"1", "5", "20"}
        assert len(t.intermediate_values) == t.user_attrs["epochs"] == 2
        assert t.value == pytest.approx(max(t.intermediate_values.values()))
    attrs = study_of(req, prepared.study_name).user_attrs
    assert (
        attrs["model"] == model and attrs["data_fingerprint"] == prepared.objective.data.fingerprint
    )


def test_running_again_finishes_the_rest_and_loses_nothing(tmp_path: Path) -> None:
    first = run_search(prepare_search(request(tmp_path, "nhits", 2), say=lambda _: None))
    trials = run_search(prepare_search(request(tmp_path, "nhits", 3), say=lambda _: None))
    assert len(trials) == 3
    assert [t.value for t in trials[:2]] == [t.value for t in first]
    again = run_search(prepare_search(request(tmp_path, "nhits", 3), say=lambda _: None))
    assert len(again) == 3  # the study is done: no trial is added


def test_a_pruner_that_must_fire_prunes(tmp_path: Path) -> None:
    spec = yaml.safe_load((ROOT / "objectives/nhits.yaml").read_text())
    spec["pruner"] = {"type": "threshold", "lower": 100.0}  # no score reaches 100
    objective = tmp_path / "objective.yaml"
    objective.write_text(yaml.safe_dump(spec))
    trials = run_search(
        prepare_search(request(tmp_path, "nhits", 2, objective_file=objective), say=lambda _: None)
    )
    assert [t.state for t in trials] == [TrialState.PRUNED] * 2
    assert all(t.last_step == 0 and t.user_attrs["epochs"] == 1 for t in trials)


def test_a_diverging_trial_fails_alone(tmp_path: Path) -> None:
    req = request(tmp_path, "nhits", 3)
    prepared = prepare_search(req, say=lambda _: None)
    # The first trial runs with a learning rate no network survives (outside the space on purpose).
    study_of(req, prepared.study_name).enqueue_trial({"learning_rate": 1.0e30})
    trials = run_search(prepared)
    states = [t.state for t in trials]
    assert states == [TrialState.FAIL] + [TrialState.COMPLETE] * 3
    assert trials[0].user_attrs["fail_reason"].startswith("DivergedError: training loss is nan")


def _tiny_search(storage: str, *, trials: int, study: str) -> list[str]:
    """`harness search` arguments for an nhits study of one-batch, one-epoch trials."""
    return [
        "search",
        "--model",
        "nhits",
        "--trials",
        str(trials),
        "--epochs",
        "1",
        "--max-batches",
        "1",
        "--storage",
        storage,
        "--study",
        study,
    ]


def test_another_dataset_cannot_join_a_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = f"sqlite:///{tmp_path}/studies.db"
    args = _tiny_search(storage, trials=1, study="shared")
    assert main(args) == 0
    other = make_demo(tmp_path / "other", days=6, seed=5).out
    assert main([*args, "--data", str(other)]) == 2
    err = capsys.readouterr().err
    assert "study 'shared' was made for another data_fingerprint" in err
    assert "--study NEW_NAME" in err


def test_a_storage_that_cannot_connect_is_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "search",
            "--model",
            "nhits",
            "--trials",
            "1",
            "--storage",
            "postgresql://nobody@127.0.0.1:9/none",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "storage postgresql://nobody@127.0.0.1:9/none: cannot connect" in err
    assert "Traceback" not in err


def test_status_lists_the_study(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    storage = f"sqlite:///{tmp_path}/studies.db"
    main(_tiny_search(storage, trials=2, study="mine"))
    out = capsys.readouterr().out
    assert "trial   0 complete" in out and "trial   1 complete" in out
    assert main(["status", "--storage", storage]) == 0
    table = capsys.readouterr().out
    assert "mine" in table and "nhits" in table


@pytest.mark.slow
def test_two_workers_on_sqlite_reach_n_trials_without_lock_failures(tmp_path: Path) -> None:
    trials = run_search(prepare_search(request(tmp_path, "nhits", 6, jobs=2), say=lambda _: None))
    states = [t.state for t in trials]
    assert states.count(TrialState.FAIL) == 0
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == 6


@pytest.mark.slow
def test_two_workers_on_postgresql_share_one_study(tmp_path: Path) -> None:
    url = os.environ.get("HARNESS_TEST_POSTGRES")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must provide a PostgreSQL server in HARNESS_TEST_POSTGRES")
        pytest.skip("no PostgreSQL server (set HARNESS_TEST_POSTGRES=postgresql://...)")
    study = f"pg-{os.getpid()}-{time.time_ns()}"
    trials = run_search(
        prepare_search(
            request(tmp_path, "nhits", 4, jobs=2, storage=url, study=study), say=lambda _: None
        )
    )
    states = [t.state for t in trials]
    assert states.count(TrialState.FAIL) == 0
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == 4


def _search_cmd(tmp_path: Path, trials: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "harness",
        "search",
        "--model",
        "nhits",
        "--trials",
        str(trials),
        "--epochs",
        "3",
        "--max-batches",
        "3",
        "--storage",
        f"sqlite:///{tmp_path}/studies.db",
        "--study",
        "killed",
    ]


def _wait_for(study: str, storage: str, predicate, timeout: float = 120.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            trials = optuna.load_study(study_name=study, storage=storage).get_trials()
        except KeyError:
            trials = []
        if predicate(trials):
            return trials
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the study")


@pytest.mark.slow
def test_sigkill_mid_trial_then_the_same_command_loses_no_finished_trial(tmp_path: Path) -> None:
    env = {**os.environ, "HARNESS_HEARTBEAT_SECONDS": "1"}
    storage = f"sqlite:///{tmp_path}/studies.db"
    proc = subprocess.Popen(
        _search_cmd(tmp_path, 3),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Kill it while a trial runs, after at least one trial finished.
    before = _wait_for(
        "killed",
        storage,
        lambda ts: (
            any(t.state == TrialState.COMPLETE for t in ts)
            and any(t.state == TrialState.RUNNING for t in ts)
        ),
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {t.number: t.value for t in before if t.state == TrialState.COMPLETE}

    rerun = subprocess.run(
        _search_cmd(tmp_path, 3), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    trials = optuna.load_study(study_name="killed", storage=storage).get_trials()
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 3
    assert {n: v for n, v in done.items()} == {
        t.number: t.value for t in trials if t.number in done
    }
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert [t for t in trials if t.state == TrialState.FAIL]  # the killed one, reaped


@pytest.mark.slow
def test_ctrl_c_ends_the_trial_and_says_how_to_resume(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path}/studies.db"
    proc = subprocess.Popen(
        _search_cmd(tmp_path, 5),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for("killed", storage, lambda ts: any(t.state == TrialState.RUNNING for t in ts))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Run the same command" in err
    assert "Traceback" not in err
    trials = optuna.load_study(study_name="killed", storage=storage).get_trials()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
