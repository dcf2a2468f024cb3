"""Rules of the objective, on an in-memory study and the tiny dataset: a trial keeps what it ran,
pruning fires, a diverging trial fails alone, a study refuses another dataset or format."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState
from optuna_dashboard import get_note

from harness.config import ObjectiveSpec, SearchSpace
from harness.constants import __version__, source_commit
from harness.data import load_phase1
from harness.search import Objective
from harness.search.workers import expected_attrs
from harness.storage import StudyMismatch, WorkerWarning
from harness.storage.attrs import (
    ATTR_LIMIT,
    GAP,
    METRIC_NAME,
    SCORE_F1_TERM,
    SCORE_SHARPE_TERM,
    VAL_ACCURACY,
    VAL_MACRO_F1,
    VAL_PSR,
    VAL_SHARPE,
    describe_study,
    horizon_attr,
    symbol_sharpe_attr,
)
from harness.storage.study import check_study, check_worker
from harness.training import Recipe
from tests.conftest import HORIZONS, tiny_frames, tiny_splits, write_dataset

SPACE: dict[str, Any] = {
    "model": "nhits",
    "fixed": {
        "seq_len": 16,
        "pooling": "fine",
        "mlp_units": 16,
        "latent_size": 4,
        "latent_channels": 2,
        "head_hidden": 8,
        "batch_size": 16,
    },
    "params": {"learning_rate": {"type": "float", "low": 1.0e-3, "high": 1.0e-2, "log": True}},
}
BUDGET = {"max_epochs": 2, "patience": 2, "batches_per_epoch": 2, "train_eval_rows": 64}
ATTRS = (
    "config",
    *(
        horizon_attr(name, h)
        for h in HORIZONS
        for name in (VAL_MACRO_F1, VAL_ACCURACY, VAL_SHARPE, VAL_PSR, GAP)
    ),
    "epochs",
    "seconds",
    "best_epoch",
    "data_fingerprint",
    "study_seed",
)


def recipe(root: Path, **objective: Any) -> Recipe:
    spec = ObjectiveSpec.model_validate(
        {"model": "nhits", "budget": BUDGET, "pruner": {"type": "none"}, **objective}
    )
    return Recipe(space=SearchSpace.model_validate(SPACE), objective=spec, data=load_phase1(root))


def optimize(r: Recipe, trials: int, *, enqueue: dict[str, Any] | None = None) -> optuna.Study:
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=r.objective.make_pruner(r.budget),
    )
    if enqueue:
        study.enqueue_trial(enqueue)
    study.optimize(Objective(r, seed=0), n_trials=trials, catch=(Exception,))
    return study


@pytest.fixture(autouse=True)
def _quiet() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)


def test_a_trial_keeps_what_it_ran(tiny_dataset: Path) -> None:
    study = optimize(recipe(tiny_dataset), 2)
    for t in study.trials:
        assert t.state == TrialState.COMPLETE
        for key in ATTRS:
            assert key in t.user_attrs, key
        assert t.user_attrs["config"]["model"] == "nhits"
        assert t.user_attrs["config"]["learning_rate"] == t.params["learning_rate"]
        for h in HORIZONS:  # each symbol's Sharpe: what finalize's deflated Sharpe spreads
            assert {symbol_sharpe_attr(h, s) for s in ("MES", "MGC")} <= set(t.user_attrs)
        assert len(t.intermediate_values) == t.user_attrs["epochs"] == 2
        # the reported values pass through Lightning's float32 log; the value is exact
        assert t.value == pytest.approx(max(t.intermediate_values.values()), rel=1e-6)
        assert t.intermediate_values[t.user_attrs["best_epoch"]] == pytest.approx(t.value, rel=1e-6)


def test_a_trials_attributes_are_short_and_its_score_is_the_sum_of_their_terms(
    tiny_dataset: Path,
) -> None:
    (t,) = optimize(recipe(tiny_dataset), 1).trials
    # optuna-dashboard cuts longer values: every attribute shows whole
    for key, value in t.user_attrs.items():
        assert len(json.dumps(value)) <= ATTR_LIMIT, key
    terms = [
        t.user_attrs[horizon_attr(SCORE_SHARPE_TERM, h)]
        + t.user_attrs[horizon_attr(SCORE_F1_TERM, h)]
        for h in HORIZONS
    ]
    assert t.value == pytest.approx(sum(terms) / len(terms), rel=1e-9)  # reduce: mean
    for h in HORIZONS:  # f1_weight 1: the F1 term is val macro-F1
        f1 = t.user_attrs[horizon_attr(VAL_MACRO_F1, h)]
        assert t.user_attrs[horizon_attr(SCORE_F1_TERM, h)] == f1
        assert 0.0 <= f1 <= 1.0


def test_a_trial_and_the_study_carry_notes_that_show_the_numbers(tiny_dataset: Path) -> None:
    study = optimize(recipe(tiny_dataset), 2)
    best = study.best_trial
    for t in study.trials:
        note = get_note_of(study, t)
        assert f"**Trial {t.number}**" in note
        for h in HORIZONS:
            row = next(line for line in note.splitlines() if line.startswith(f"| {h} |"))
            assert f"{t.user_attrs[horizon_attr(VAL_MACRO_F1, h)]:.4f}" in row
    study_text = get_note(study)
    assert f"**Best trial: {best.number}**" in study_text
    assert "mean over horizons 1, 5 of 0.1 * timing PSR" in study_text


def get_note_of(study: optuna.Study, t: optuna.trial.FrozenTrial) -> str:
    """A trial's note, as optuna-dashboard reads it (its API takes a live trial)."""
    return str(get_note(optuna.Trial(study, t._trial_id)))


def test_a_pruner_that_must_fire_prunes(tiny_dataset: Path) -> None:
    r = recipe(tiny_dataset, pruner={"type": "threshold", "lower": 100.0})  # no score reaches it
    study = optimize(r, 2)
    assert [t.state for t in study.trials] == [TrialState.PRUNED] * 2
    assert all(t.last_step == 0 and t.user_attrs["epochs"] == 1 for t in study.trials)


def test_a_diverging_trial_fails_alone(tiny_dataset: Path) -> None:
    # A learning rate no network survives (outside the space on purpose).
    study = optimize(recipe(tiny_dataset), 3, enqueue={"learning_rate": 1.0e30})
    assert [t.state for t in study.trials] == [TrialState.FAIL] + [TrialState.COMPLETE] * 2
    assert study.trials[0].user_attrs["fail_reason"].startswith("DivergedError: training loss")


def test_the_study_refuses_another_dataset(tiny_dataset: Path, tmp_path: Path) -> None:
    study = optuna.create_study()
    check_study(study, expected_attrs(recipe(tiny_dataset)))
    check_study(study, expected_attrs(recipe(tiny_dataset)))  # the same data joins
    other = write_dataset(tmp_path / "other", tiny_frames(seed=5), tiny_splits())
    with pytest.raises(StudyMismatch, match="another data_fingerprint") as info:
        check_study(study, expected_attrs(recipe(other)))
    assert "--study NEW_NAME" in str(info.value)


def test_the_study_refuses_another_objective(tiny_dataset: Path) -> None:
    study = optuna.create_study()
    check_study(study, expected_attrs(recipe(tiny_dataset)))
    with pytest.raises(StudyMismatch, match="another objective"):
        check_study(study, expected_attrs(recipe(tiny_dataset, score={"sharpe_weight": 0.123})))


def test_a_study_of_an_older_harness_is_refused_naming_the_fix(tiny_dataset: Path) -> None:
    study = optuna.create_study()
    attrs = expected_attrs(recipe(tiny_dataset))
    for key, value in attrs.items():  # as format 1 left them: no format_version
        study.set_user_attr(key, value)
    with pytest.raises(StudyMismatch, match="older harness") as info:
        check_study(study, attrs)
    assert "--study NEW_NAME" in str(info.value)


def test_a_trial_that_raises_stores_the_type_and_message(
    tiny_dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("no val row with a full window\nsecond line")

    monkeypatch.setattr(Recipe, "train", boom)
    study = optimize(recipe(tiny_dataset), 1)
    assert study.trials[0].state == TrialState.FAIL
    reason = study.trials[0].user_attrs["fail_reason"]
    assert reason == "RuntimeError: no val row with a full window\nsecond line"


def test_every_trial_records_the_worker_that_made_it(tiny_dataset: Path) -> None:
    r = recipe(tiny_dataset)
    study = optimize(r, 1)
    worker = study.trials[0].user_attrs["worker"]
    assert worker == r.worker()
    versions = {"harness", "torch", "lightning", "optuna"}
    assert set(worker) == {"host", "commit", *versions, "device", "precision"}  # a checkout
    assert (worker["device"], worker["precision"]) == ("cpu", "32-true")
    assert worker["host"] == socket.gethostname() and worker["harness"] == __version__
    assert re.fullmatch(r"[0-9a-f]{12}(-dirty)?", worker["commit"])


def test_the_commit_is_left_out_where_git_is_not_there(monkeypatch: pytest.MonkeyPatch) -> None:
    source_commit.cache_clear()
    monkeypatch.setenv("PATH", "")  # no git to run
    try:
        assert source_commit() is None
    finally:
        source_commit.cache_clear()  # the next caller asks git again


def test_a_study_keeps_its_first_worker_refuses_another_precision_and_warns_of_versions(
    tiny_dataset: Path,
) -> None:
    study = optuna.create_study()
    worker = recipe(tiny_dataset).worker()
    check_worker(study, worker)
    assert study.user_attrs["worker"] == worker
    check_worker(study, {**worker, "device": "NVIDIA H100"})  # another device, same precision

    with pytest.raises(StudyMismatch, match="precision") as info:
        check_worker(study, {**worker, "precision": "bf16-mixed"})
    assert "--study NEW_NAME" in str(info.value)

    with pytest.warns(WorkerWarning, match="torch") as caught:
        check_worker(study, {**worker, "torch": "0.0"})
    assert len(caught) == 1


def test_a_study_names_its_metric_and_states_score_budget_and_data(tiny_dataset: Path) -> None:
    r = recipe(tiny_dataset)
    study = optuna.create_study(direction="maximize")
    describe_study(study, score=r.score, budget=r.budget, data=r.data)
    assert study.metric_names == [METRIC_NAME]
    attrs = study.user_attrs
    assert attrs["score"].startswith("mean over horizons 1, 5 of 0.1 * timing PSR")
    assert "max_epochs 2, patience 2, batches_per_epoch 2" in attrs["budget"]
    assert attrs["data"].startswith(f"{len(r.data.frame)} rows (")
    assert "symbols MES, MGC, 2024-01-01 00:00:00 to " in attrs["data"]
    assert all(len(v) <= ATTR_LIMIT for v in attrs.values())
