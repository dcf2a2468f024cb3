"""fit() on every model: history, best epoch, its weights, early stopping, divergence, seeds."""

from __future__ import annotations

import copy
import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from harness.config import Budget, ScoreConfig
from harness.data import PreparedData
from harness.metrics import (
    ACCURACY,
    CONFUSION,
    MACRO_F1,
    SCORE,
    SHARPE,
    combine_score,
    evaluate_split,
)
from harness.modelfile import split_probs
from harness.models import MODELS, SymbolScaler
from harness.training import DivergedError, FitResult, fit, seed_for
from harness.training.fit import build_net
from harness.training.module import TRAIN_LOSS, VAL_LOSS
from tests.training.conftest import tiny_run

NAMES = sorted(MODELS)
EPOCHS = 3
MAX_BATCHES = 4
TRAIN_EVAL_ROWS = 256
SEED = 7
# Sharpe counts, so that the score moves from epoch to epoch even when macro-F1 barely does.
SCORE_CONFIG = ScoreConfig(sharpe_weight=0.5, f1_weight=1.0, sharpe_term="psr")
BUDGET = Budget(max_epochs=EPOCHS, batches_per_epoch=MAX_BATCHES, train_eval_rows=TRAIN_EVAL_ROWS)


def short(**limits: Any) -> Budget:
    """A budget of two epochs of two batches, then `limits`."""
    return Budget(**{"max_epochs": 2, "batches_per_epoch": 2, **limits})


class Recorder(Callback):
    """What fit does not report itself: the net's weights at each validation, batches per epoch."""

    def __init__(self) -> None:
        self.states: dict[int, dict[str, torch.Tensor]] = {}
        self.batches: dict[int, int] = {}

    def on_train_batch_end(self, trainer: pl.Trainer, module: Any, *args: Any) -> None:
        self.batches[module.current_epoch] = self.batches.get(module.current_epoch, 0) + 1

    def on_validation_end(self, trainer: pl.Trainer, module: Any) -> None:
        self.states[module.current_epoch] = copy.deepcopy(module.net.state_dict())


@dataclass
class Trained:
    model: str
    result: FitResult
    reported: list[dict[str, Any]]
    recorder: Recorder
    left_in_cwd: list[str]


def train(model: str, data: PreparedData, **options: Any) -> FitResult:
    """A short run of the tiny `model`; `options` go to fit (callbacks, on_epoch)."""
    return fit(
        tiny_run(model),
        data,
        SCORE_CONFIG,
        budget=BUDGET,
        seed=SEED,
        **options,
    )


@pytest.fixture(scope="module", params=NAMES)
def trained(
    request: pytest.FixtureRequest,
    demo_data: PreparedData,
    tmp_path_factory: pytest.TempPathFactory,
) -> Trained:
    """One short run per model, in an empty working folder."""
    cwd = tmp_path_factory.mktemp("cwd")
    reported: list[dict[str, Any]] = []
    recorder = Recorder()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        result = train(request.param, demo_data, callbacks=[recorder], on_epoch=reported.append)
        left = sorted(os.listdir(cwd))
    return Trained(request.param, result, reported, recorder, left)


# --- one run ------------------------------------------------------------------------------------


def test_history_has_one_entry_per_epoch(trained: Trained) -> None:
    result = trained.result
    assert result.epochs == EPOCHS
    assert [e["epoch"] for e in result.history] == list(range(EPOCHS))
    assert trained.reported == result.history  # reported as each epoch ended, the same entries
    assert result.seconds > 0


def test_epochs_are_capped_at_max_batches(trained: Trained) -> None:
    assert trained.recorder.batches == dict.fromkeys(range(EPOCHS), MAX_BATCHES)


def test_entries_hold_losses_and_metrics_per_horizon(
    trained: Trained, demo_data: PreparedData
) -> None:
    horizons = demo_data.spec.horizons
    for entry in trained.result.history:
        for key in (TRAIN_LOSS, VAL_LOSS, "lr", SCORE):
            assert math.isfinite(entry[key]), key
        assert entry[TRAIN_LOSS] > 0 and entry[VAL_LOSS] > 0 and entry["lr"] > 0
        for split in ("train", "val"):
            assert sorted(entry[split]) == sorted(horizons)
            for h in horizons:
                metrics = entry[split][h]
                assert 0.0 <= metrics[MACRO_F1] <= 1.0
                assert 0.0 <= metrics[ACCURACY] <= 1.0
                assert math.isfinite(metrics[SHARPE])
        # train metrics are over the most recent TRAIN_EVAL_ROWS train rows, val over all of val
        assert sum(map(sum, entry["train"][horizons[0]][CONFUSION])) == TRAIN_EVAL_ROWS
        assert sum(map(sum, entry["val"][horizons[0]][CONFUSION])) == len(demo_data.val)


def test_score_combines_the_val_metrics(trained: Trained) -> None:
    for entry in trained.result.history:
        expected = combine_score(
            entry["val"],
            sharpe_weight=SCORE_CONFIG.sharpe_weight,
            f1_weight=SCORE_CONFIG.f1_weight,
            horizons=SCORE_CONFIG.horizons,
            reduce=SCORE_CONFIG.reduce,  # type: ignore[arg-type]
            sharpe_term=SCORE_CONFIG.sharpe_term,
        )
        assert entry[SCORE] == expected


def test_result_is_the_best_epoch(trained: Trained) -> None:
    result = trained.result
    scores = [e[SCORE] for e in result.history]
    assert result.score == max(scores)
    assert result.best_epoch == scores.index(max(scores))  # the first of equal bests
    assert result.best is result.history[result.best_epoch]


def test_net_holds_the_best_epochs_weights(trained: Trained) -> None:
    result = trained.result
    assert not result.net.training
    best = trained.recorder.states[result.best_epoch]
    state = result.net.state_dict()
    assert state.keys() == best.keys()
    assert [k for k in best if not torch.equal(state[k], best[k])] == []
    for epoch, other in trained.recorder.states.items():
        if epoch != result.best_epoch:  # the epochs did train: their weights differ
            assert any(not torch.equal(state[k], other[k]) for k in other)


def test_predictions_reproduce_the_best_epochs_val_metrics(
    trained: Trained, demo_data: PreparedData
) -> None:
    data = demo_data
    rows, probs = split_probs(trained.result.net, data, "val")
    assert np.array_equal(np.sort(rows), np.sort(data.val.numpy()))
    for p in probs.values():
        assert p.shape == (len(rows), 3) and p.dtype == np.float32
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    order = np.argsort(rows, kind="stable")
    rows = rows[order]
    labels = data.labels[torch.as_tensor(rows)].numpy()
    horizons = data.spec.horizons
    metrics = evaluate_split(
        {h: probs[h][order] for h in horizons},
        {h: labels[:, k] for k, h in enumerate(horizons)},
        data.close[rows],
        data.symbols[rows],
        bars_per_year=data.bars_per_year,  # per symbol, as the epochs annualize
        cost_bps=SCORE_CONFIG.cost_bps,
        positions=rows,
    )
    expected = trained.result.best["val"]
    for h in horizons:
        assert metrics[h][CONFUSION] == expected[h][CONFUSION]
        assert metrics[h][MACRO_F1] == pytest.approx(expected[h][MACRO_F1], abs=1e-12)
        assert metrics[h][SHARPE] == pytest.approx(expected[h][SHARPE], rel=1e-9, abs=1e-9)


def test_the_best_epochs_val_classes_are_kept(trained: Trained, demo_data: PreparedData) -> None:
    rows, probs = split_probs(trained.result.net, demo_data, "val")
    order = np.argsort(rows, kind="stable")
    kept = trained.result.val_predictions
    np.testing.assert_array_equal(kept.rows, rows[order])
    assert kept.classes.dtype == np.int8
    assert kept.classes.shape == (len(rows), len(demo_data.spec.horizons))
    for k, h in enumerate(demo_data.spec.horizons):
        np.testing.assert_array_equal(kept.classes[:, k], probs[h][order].argmax(axis=1))


def test_nothing_is_written_to_the_working_folder(trained: Trained) -> None:
    assert trained.left_in_cwd == []


def test_same_seed_same_run(trained: Trained, demo_data: PreparedData) -> None:
    again = train(trained.model, demo_data)
    first = trained.result
    assert [e[SCORE] for e in again.history] == [e[SCORE] for e in first.history]
    assert [e[TRAIN_LOSS] for e in again.history] == [e[TRAIN_LOSS] for e in first.history]
    assert again.best_epoch == first.best_epoch
    state, other = first.net.state_dict(), again.net.state_dict()
    assert [k for k in state if not torch.equal(state[k], other[k])] == []


# --- stopping early, diverging ---------------------------------------------------------------

# Without BatchNorm, whose running statistics move in train mode whatever the learning rate.
NO_BATCH_NORM: dict[str, dict[str, Any]] = {
    "nhits": {"batch_norm": False},
    "tft": {},
    "patchtst": {"norm": "layer"},
}


@pytest.mark.parametrize("name", NAMES)
def test_early_stopping_when_the_score_cannot_improve(name: str, demo_data: PreparedData) -> None:
    # A learning rate of 1e-12 leaves the predictions as they are: every epoch scores the same,
    # and an equal score is no improvement, so patience 1 stops after the second epoch.
    result = fit(
        tiny_run(name, learning_rate=1.0e-12, **NO_BATCH_NORM[name]),
        demo_data,
        SCORE_CONFIG,
        budget=short(max_epochs=5, patience=1, train_eval_rows=TRAIN_EVAL_ROWS),
        seed=SEED,
    )
    scores = [e[SCORE] for e in result.history]
    assert scores == [scores[0]] * len(scores)  # the premise: nothing improved
    assert result.epochs == 2
    assert result.best_epoch == 0


@pytest.mark.parametrize("name", NAMES)
def test_nan_features_raise_diverged(name: str, demo_data: PreparedData) -> None:
    features = demo_data.features.clone()
    features[demo_data.train[::7]] = float("nan")  # a NaN in most training windows
    data = dataclasses.replace(demo_data, features=features)
    with pytest.raises(DivergedError, match="loss"):
        fit(tiny_run(name), data, SCORE_CONFIG, budget=short(), seed=SEED)


@pytest.mark.parametrize("name", NAMES)
def test_huge_learning_rate_raises_diverged(name: str, demo_data: PreparedData) -> None:
    # Adam's first step moves every weight by about the learning rate: 1e30 overflows float32
    # within two layers. (1e6 is not enough for PatchTST, whose RevIN and norms keep it finite.)
    run = tiny_run(name, learning_rate=1.0e30)
    with pytest.raises(DivergedError, match="loss is nan"):
        fit(run, demo_data, SCORE_CONFIG, budget=short(batches_per_epoch=4), seed=SEED)


# --- arguments ---------------------------------------------------------------------------------


def test_data_prepared_for_another_seq_len_is_rejected(demo_data: PreparedData) -> None:
    run = tiny_run("nhits", seq_len=demo_data.seq_len * 2)
    with pytest.raises(ValueError, match="seq_len"):
        fit(run, demo_data, SCORE_CONFIG, budget=short(max_epochs=1), seed=SEED)


def test_seed_for_gives_each_trial_its_own_seed() -> None:
    seeds = [seed_for(study, trial) for study in range(3) for trial in range(100)]
    assert len(set(seeds)) == len(seeds)
    assert all(0 <= s < 2**31 - 1 for s in seeds)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_symbol_scaler_learns_from_train_rows_only(name: str, demo_data: PreparedData) -> None:
    net = build_net(tiny_run(name, symbol_scaling=True), demo_data, seed=0)
    (scaler,) = [m for m in net.modules() if isinstance(m, SymbolScaler)]
    train = demo_data.train
    for s in range(demo_data.spec.n_symbols):
        rows = train[demo_data.symbol_ids[train] == s]
        assert torch.allclose(scaler.mean[s], demo_data.features[rows].mean(0))
        assert torch.allclose(scaler.std[s], demo_data.features[rows].std(0))
    # the val rows of a symbol would give other statistics: they were not read
    val = demo_data.val[demo_data.symbol_ids[demo_data.val] == 0]
    assert not torch.allclose(scaler.mean[0], demo_data.features[val].mean(0))
