from __future__ import annotations

import json

import numpy as np
import pytest

from harness.metrics import (
    MACRO_F1,
    SHARPE,
    SHARPE_FLOOR,
    backtest,
    classification_metrics,
    combine_score,
    evaluate_split,
)

PER_HORIZON = {
    1: {SHARPE: 1.0, MACRO_F1: 0.5},  # 1 * 1.0 + 2 * 0.5 = 2.0
    5: {SHARPE: -1.0, MACRO_F1: 0.3},  # -1.0 + 0.6 = -0.4
    20: {SHARPE: 0.5, MACRO_F1: 0.2},  # 0.5 + 0.4 = 0.9
}


@pytest.mark.parametrize(
    ("reduce", "horizons", "expected"),
    [
        ("mean", None, (2.0 - 0.4 + 0.9) / 3),
        ("min", None, -0.4),
        ("max", None, 2.0),
        ("mean", [1, 5], 0.8),
        ("min", [20], 0.9),
    ],
)
def test_combine_score_hand_computed(reduce: str, horizons: list | None, expected: float) -> None:
    score = combine_score(
        PER_HORIZON, sharpe_weight=1.0, f1_weight=2.0, horizons=horizons, reduce=reduce
    )
    assert score == pytest.approx(expected)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_sharpe_scores_as_the_floor(bad: float) -> None:
    score = combine_score({1: {SHARPE: bad, MACRO_F1: 0.4}}, sharpe_weight=0.5, f1_weight=1.0)
    assert score == pytest.approx(0.5 * SHARPE_FLOOR + 0.4)


def test_missing_horizon_or_metric_is_named() -> None:
    with pytest.raises(KeyError, match="60"):
        combine_score(PER_HORIZON, sharpe_weight=1, f1_weight=1, horizons=[1, 60])
    with pytest.raises(KeyError, match="macro_f1"):
        combine_score({1: {SHARPE: 1.0}}, sharpe_weight=1, f1_weight=1)


@pytest.mark.parametrize("kwargs", [{"reduce": "median"}, {"horizons": []}])
def test_bad_options_are_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        combine_score(PER_HORIZON, sharpe_weight=1, f1_weight=1, **kwargs)


def _split(seed: int = 0) -> tuple[dict, dict, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 240
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    symbols = np.array(["MES"] * 140 + ["MGC"] * 100)
    probs = {h: rng.dirichlet(np.ones(3), n).astype(np.float32) for h in (1, 5, 20)}
    targets = {h: rng.integers(0, 3, n) for h in (1, 5, 20)}
    return probs, targets, close, symbols


def test_evaluate_split_is_classification_plus_backtest_per_horizon() -> None:
    probs, targets, close, symbols = _split()
    result = evaluate_split(probs, targets, close, symbols, bars_per_year=6000, cost_bps=1.0)
    assert sorted(result) == [1, 5, 20]
    for h, metrics in result.items():
        pred = probs[h].argmax(axis=1)
        expected = {
            **classification_metrics(targets[h], pred),
            **backtest(pred, close, symbols, bars_per_year=6000, cost_bps=1.0),
        }
        assert metrics == expected


def test_evaluate_split_takes_classes_or_scores() -> None:
    probs, targets, close, symbols = _split(1)
    classes = {h: p.argmax(axis=1) for h, p in probs.items()}
    assert evaluate_split(probs, targets, close, symbols, bars_per_year=252) == evaluate_split(
        classes, targets, close, symbols, bars_per_year=252
    )


def test_evaluate_split_result_is_strict_json_and_scores() -> None:
    probs, targets, close, symbols = _split(2)
    result = evaluate_split(probs, targets, close, symbols, bars_per_year=252)
    json.dumps(result, allow_nan=False)
    assert np.isfinite(combine_score(result, sharpe_weight=0.1, f1_weight=1.0, reduce="min"))


def test_evaluate_split_needs_targets_for_every_horizon() -> None:
    probs, targets, close, symbols = _split(3)
    del targets[5]
    with pytest.raises(KeyError, match="5"):
        evaluate_split(probs, targets, close, symbols, bars_per_year=252)
