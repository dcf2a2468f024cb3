"""Searches where storage and processes are the subject: SQLite, PostgreSQL, a resumed or killed
search, parallel workers (the objective's own rules are tested in memory: test_objective.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from harness import MODEL_NAMES
from harness.config import Caps
from harness.errors import HarnessError
from harness.search import SearchRequest, plan_search, run_search
from harness.training import Recipe
from tests.search.test_objective import ATTRS
from tests.test_cli import TINY_OBJECTIVE, TINY_SPACE


def request(tmp_path: Path, model: str, trials: int, **kw: Any) -> SearchRequest:
    options: dict[str, Any] = {
        "storage": f"sqlite:///{tmp_path}/studies.db",
        "caps": Caps(epochs=2, max_batches=2),
        "profile": "cpu",  # whatever the device: the demo's searches here are CPU-sized
        **kw,
    }
    return SearchRequest(model=model, trials=trials, **options)


def study_of(req: SearchRequest, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=req.storage)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no Phase 1 data here: the demo dataset is used


@pytest.mark.slow
@pytest.mark.parametrize("model", MODEL_NAMES)
def test_a_search_completes_and_its_trials_keep_what_they_ran(tmp_path: Path, model: str) -> None:
    req = request(tmp_path, model, trials=2)
    prepared = plan_search(req, say=lambda _: None)
    seen = []
    trials = run_search(prepared, on_trial=seen.append)

    assert prepared.study_name.startswith(f"{model}-cpu-")
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    assert sorted(t.number for t in seen) == [0, 1]
    for t in trials:
        for key in ATTRS:
            assert key in t.user_attrs, key
        assert t.user_attrs["config"]["model"] == model
        for h in (1, 5, 20):
            assert isinstance(t.user_attrs[f"val_macro_f1_h{h}"], float)
        assert len(t.intermediate_values) == t.user_attrs["epochs"] == 2
        assert t.value == pytest.approx(max(t.intermediate_values.values()))
    attrs = study_of(req, prepared.study_name).user_attrs
    assert attrs["model"] == model and attrs["data_fingerprint"] == prepared.recipe.data.fingerprint


def test_running_again_finishes_the_rest_and_loses_nothing(
    tmp_path: Path, tiny_dataset: Path
) -> None:
    space, objective = tmp_path / "space.yaml", tmp_path / "objective.yaml"
    space.write_text(TINY_SPACE)
    objective.write_text(TINY_OBJECTIVE)

    def search(trials: int) -> list[FrozenTrial]:
        tiny = {"data": tiny_dataset, "space_file": space, "objective_file": objective}
        return run_search(plan_search(request(tmp_path, "nhits", trials, **tiny), say=print))

    first = search(2)
    trials = search(3)
    assert len(trials) == 3
    assert [t.value for t in trials[:2]] == [t.value for t in first]
    assert len(search(3)) == 3  # the study is done: no trial is added


@pytest.mark.slow
def test_two_workers_on_sqlite_reach_n_trials_without_lock_failures(tmp_path: Path) -> None:
    trials = run_search(plan_search(request(tmp_path, "nhits", 6, jobs=2), say=lambda _: None))
    states = [t.state for t in trials]
    assert states.count(TrialState.FAIL) == 0
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == 6


@pytest.mark.slow
def test_two_workers_and_a_resume_never_draw_the_same_configuration(
    tmp_path: Path, tiny_dataset: Path
) -> None:
    space, objective = tmp_path / "space.yaml", tmp_path / "objective.yaml"
    space.write_text(TINY_SPACE)
    objective.write_text(TINY_OBJECTIVE)  # the random sampler: every trial a start-up trial
    tiny = {"data": tiny_dataset, "space_file": space, "objective_file": objective}
    run_search(plan_search(request(tmp_path, "nhits", 4, jobs=2, **tiny), say=print))
    trials = run_search(plan_search(request(tmp_path, "nhits", 6, **tiny), say=print))

    drawn = [t.params["learning_rate"] for t in trials]
    assert len(drawn) == 6 and len(set(drawn)) == 6
    seeds = {t.user_attrs["sampler_seed"] for t in trials}
    assert len(seeds) == 3  # two workers, then the resumed run


def test_a_worker_that_gives_up_quotes_the_last_failure(
    tmp_path: Path, tiny_dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("CUDA error: device-side assert triggered\nmore")

    monkeypatch.setattr(Recipe, "train", boom)
    space, objective = tmp_path / "space.yaml", tmp_path / "objective.yaml"
    space.write_text(TINY_SPACE)
    objective.write_text(TINY_OBJECTIVE)
    tiny = {"data": tiny_dataset, "space_file": space, "objective_file": objective}
    with pytest.raises(HarnessError) as info:
        run_search(plan_search(request(tmp_path, "nhits", 9, **tiny), say=print))
    assert str(info.value) == (
        "worker 0: 5 trials in a row failed; the last one (trial 4) with: "
        "RuntimeError: CUDA error: device-side assert triggered more"
    )


@pytest.mark.slow
def test_two_workers_on_postgresql_share_one_study(tmp_path: Path) -> None:
    url = os.environ.get("HARNESS_TEST_POSTGRES")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must provide a PostgreSQL server in HARNESS_TEST_POSTGRES")
        pytest.skip("no PostgreSQL server (set HARNESS_TEST_POSTGRES=postgresql://...)")
    study = f"pg-{os.getpid()}-{time.time_ns()}"
    trials = run_search(
        plan_search(
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


def _wait_for(
    study: str,
    storage: str,
    predicate: Callable[[list[FrozenTrial]], bool],
    timeout: float = 120.0,
) -> list[FrozenTrial]:
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
