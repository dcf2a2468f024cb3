"""The score through the training path: one scale at every bar length, bounded, and it ranks the
demo's planted signal above never trading and above chance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from harness.config import Budget, ScoreConfig, TrainConfig
from harness.data import PreparedData, load_phase1, prepare
from harness.metrics import PSR, SHARPE, TIMING_PSR, combine_score
from harness.training import FitResult, Phase2Module, fit
from tests.conftest import SEQ_LEN, tiny_frames, tiny_splits, write_dataset
from tests.demo_oracle import oracle_predictions, read_demo
from tests.training.conftest import tiny_run

BUDGET = Budget(max_epochs=2, patience=2, batches_per_epoch=3, train_eval_rows=64)


def stamped(root: Path, freq: str) -> PreparedData:
    """The tiny dataset with its bars `freq` apart: the same rows, features and prices."""
    frames = tiny_frames()
    for frame in frames.values():
        frame["timestamp"] = pd.date_range("2024-01-01", periods=len(frame), freq=freq)
    return prepare(load_phase1(write_dataset(root, frames, tiny_splits())), seq_len=SEQ_LEN)


def trained(data: PreparedData, score: ScoreConfig) -> FitResult:
    return fit(tiny_run("nhits", batch_size=16), data, score, budget=BUDGET, seed=3)


def test_the_same_bar_returns_score_the_same_on_5_minute_and_daily_bars(tmp_path: Path) -> None:
    minutes, days = stamped(tmp_path / "5min", "5min"), stamped(tmp_path / "daily", "D")
    assert days.bars_per_year["MES"] == pytest.approx(365.25)
    assert minutes.bars_per_year["MES"] == pytest.approx(365.25 * 288)
    score = ScoreConfig()  # the default: the timing PSR term
    assert score.sharpe_term == "timing"
    a, b = trained(minutes, score), trained(days, score)
    np.testing.assert_array_equal(a.val_predictions.classes, b.val_predictions.classes)
    assert a.best_epoch == b.best_epoch
    assert a.score == b.score
    for h in minutes.spec.horizons:
        assert a.best["val"][h][PSR] == b.best["val"][h][PSR]
        assert a.best["val"][h][TIMING_PSR] == b.best["val"][h][TIMING_PSR]
    # The premise: annualized, the same returns give Sharpe ratios sqrt(288) apart, and a score
    # made of them would mean something else on each bar length.
    h = minutes.spec.horizons[0]
    if a.best["val"][h][SHARPE] != 0.0:
        ratio = a.best["val"][h][SHARPE] / b.best["val"][h][SHARPE]
        assert ratio == pytest.approx(np.sqrt(288.0))
    annualized = {"sharpe_weight": 0.02, "f1_weight": 1.0, "sharpe_term": "annualized"}
    assert combine_score(a.best["val"], **annualized) != combine_score(b.best["val"], **annualized)


def test_shifting_only_the_test_timestamps_changes_no_val_metric(tmp_path: Path) -> None:
    frames, splits = tiny_frames(), tiny_splits()
    shifted = {s: f.copy() for s, f in frames.items()}
    offset = 0
    for frame in shifted.values():
        test = splits["test"] - offset  # this symbol's test rows: the last rows of its file
        test = test[(test >= 0) & (test < len(frame))]
        frame.loc[test, "timestamp"] += pd.Timedelta(days=40)  # later: still increasing
        offset += len(frame)
    plain = load_phase1(write_dataset(tmp_path / "plain", frames, splits))
    moved = load_phase1(write_dataset(tmp_path / "moved", shifted, splits))
    assert not plain.frame["timestamp"].equals(moved.frame["timestamp"])  # the premise
    a = prepare(plain, seq_len=SEQ_LEN)
    b = prepare(moved, seq_len=SEQ_LEN)
    assert a.bars_per_year == b.bars_per_year
    ra, rb = trained(a, ScoreConfig()), trained(b, ScoreConfig())
    assert [e["val"] for e in ra.history] == [e["val"] for e in rb.history]
    assert [e["val_score"] for e in ra.history] == [e["val_score"] for e in rb.history]


# --- on the demo ---------------------------------------------------------------------------------


def module(data: PreparedData, score: ScoreConfig) -> Phase2Module:
    """The training path's evaluation (evaluate + combine_score) without a network to train."""
    return Phase2Module(
        torch.nn.Identity(),
        data=data,
        config=TrainConfig(),
        score=score,
        budget=Budget(),
        bars_per_year=data.bars_per_year,
    )


def horizon_scores(m: Phase2Module, rows: np.ndarray, pred: np.ndarray) -> dict[int, float]:
    metrics = m.evaluate(rows, pred)
    s = m.score
    return {
        h: combine_score(
            metrics,
            sharpe_weight=s.sharpe_weight,
            f1_weight=s.f1_weight,
            horizons=[h],
            sharpe_term=s.sharpe_term,
        )
        for h in metrics
    }


@pytest.fixture(scope="module")
def oracle(demo_dir: Path) -> np.ndarray:
    """[N_val, H] the logistic regression on the planted order flow, as class indices."""
    frame, splits = read_demo(demo_dir)
    labels = oracle_predictions(frame, splits)
    predicted = np.column_stack([labels[h] + 1 for h in sorted(labels)])
    assert len(predicted) == len(load_phase1(demo_dir).val)
    return predicted


def test_the_planted_signal_scores_above_never_trading_and_chance(
    demo_data: PreparedData, oracle: np.ndarray
) -> None:
    m = module(demo_data, ScoreConfig())  # the default score
    rows = demo_data.val.numpy()
    val = oracle  # one row per row of the val split; on the demo every one has a full window
    planted = horizon_scores(m, rows, val)
    flat = horizon_scores(m, rows, np.ones_like(val))
    rng = np.random.default_rng(0)
    for _ in range(5):
        chance = horizon_scores(m, rows, rng.integers(0, 3, size=val.shape))
        for h in planted:
            assert planted[h] > chance[h], h
    for h in planted:
        assert planted[h] > flat[h], h


@pytest.mark.parametrize("pattern", ["long", "short", "flat", "alternate", "random", "oracle"])
def test_the_sharpe_term_never_leaves_zero_one(
    demo_data: PreparedData, oracle: np.ndarray, pattern: str
) -> None:
    score = ScoreConfig()
    m = module(demo_data, score)
    rows = demo_data.val.numpy()
    n, h = oracle.shape
    patterns: dict[str, Any] = {
        "long": np.full((n, h), 2),
        "short": np.zeros((n, h), dtype=int),
        "flat": np.ones((n, h), dtype=int),
        "alternate": np.tile(np.r_[0, 2], n)[:n, None].repeat(h, 1),
        "random": np.random.default_rng(1).integers(0, 3, size=(n, h)),
        "oracle": oracle,
    }
    for cut in (len(rows), 40, 3):  # all of val, a short stretch, a few rows
        metrics = m.evaluate(rows[:cut], patterns[pattern][:cut])
        for per in metrics.values():
            assert 0.0 <= per[PSR] <= 1.0
        total = horizon_scores(m, rows[:cut], patterns[pattern][:cut])
        for value in total.values():
            assert 0.0 <= value <= score.sharpe_weight + score.f1_weight
