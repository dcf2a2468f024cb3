from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from harness.metrics import (
    MACRO_F1,
    PSR,
    SHARPE,
    SHARPE_FLOOR,
    backtest,
    bars_per_year_by_symbol,
    classification_metrics,
    combine_score,
    evaluate_split,
    horizon_score,
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


# ----------------------------------------------------------------------------- the PSR term


def test_psr_term_hand_computed() -> None:
    per_horizon = {
        1: {SHARPE: 3.0, PSR: 0.9, MACRO_F1: 0.5},  # 0.9 + 2 * 0.5 = 1.9
        5: {SHARPE: -2.0, PSR: 0.2, MACRO_F1: 0.3},  # 0.2 + 0.6 = 0.8
    }
    kwargs = {"sharpe_weight": 1.0, "f1_weight": 2.0, "sharpe_term": "psr"}
    assert combine_score(per_horizon, **kwargs) == pytest.approx((1.9 + 0.8) / 2)
    assert combine_score(per_horizon, reduce="min", **kwargs) == pytest.approx(0.8)
    assert combine_score(per_horizon, sharpe_weight=1.0, f1_weight=2.0) == pytest.approx(
        (4.0 - 1.4) / 2
    )  # the annualized term stays the default


def test_psr_term_needs_a_probability() -> None:
    with pytest.raises(KeyError, match="psr"):
        horizon_score({SHARPE: 1.0, MACRO_F1: 0.5}, sharpe_weight=1, f1_weight=1, sharpe_term="psr")
    with pytest.raises(ValueError, match="psr"):
        horizon_score({PSR: 1.5, MACRO_F1: 0.5}, sharpe_weight=1, f1_weight=1, sharpe_term="psr")
    nan = horizon_score(
        {PSR: float("nan"), MACRO_F1: 0.5}, sharpe_weight=1, f1_weight=1, sharpe_term="psr"
    )
    assert nan == pytest.approx(0.5)  # the bottom of the scale, 0, plus the F1 term
    with pytest.raises(ValueError, match="sharpe_term"):
        horizon_score({PSR: 0.5, MACRO_F1: 0.5}, sharpe_weight=1, f1_weight=1, sharpe_term="x")


def _stamped(freq: str, n: int) -> pd.DatetimeIndex:
    # 5-minute bars around the clock, or business days: the same rows, other bar lengths
    return pd.date_range("2024-01-01", periods=n, freq=freq)


def test_psr_score_is_the_same_at_every_bar_frequency() -> None:
    probs, targets, close, symbols = _split(4)
    scores = {}
    for freq in ("5min", "B"):
        ts = _stamped(freq, 140).append(_stamped(freq, 100))
        bpy = bars_per_year_by_symbol(ts, symbols)
        result = evaluate_split(probs, targets, close, symbols, bars_per_year=bpy)
        scores[freq] = {
            term: combine_score(result, sharpe_weight=1.0, f1_weight=1.0, sharpe_term=term)
            for term in ("psr", "annualized")
        }
    assert scores["5min"]["psr"] == scores["B"]["psr"]
    assert scores["5min"]["annualized"] != pytest.approx(scores["B"]["annualized"])


@pytest.mark.parametrize("seed", range(6))
def test_sharpe_term_never_leaves_zero_one(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    vol = [1e-5, 0.01, 0.2][seed % 3]  # a still market to a wild one
    close = 100 * np.exp(np.cumsum(rng.normal(0, vol, n)))
    symbols = np.array(["MES"] * 200 + ["MGC"] * 100)
    outputs = {
        1: rng.integers(0, 3, n),  # random
        5: np.full(n, 2),  # always long
        20: np.full(n, 1),  # never in the market
    }
    targets = {h: rng.integers(0, 3, n) for h in outputs}
    result = evaluate_split(outputs, targets, close, symbols, bars_per_year=252, cost_bps=5.0)
    for h, metrics in result.items():
        term = horizon_score(metrics, sharpe_weight=1.0, f1_weight=0.0, sharpe_term="psr")
        assert 0.0 <= term <= 1.0, h
        assert 0.0 <= metrics["by_symbol"]["MGC"][PSR] <= 1.0


def _planted(seed: int, n: int = 2000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prices, the class of each row's next move (2 up, 0 down), and a prediction that knows it
    on a third of the rows and guesses on the rest."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    nxt = np.where(np.r_[close[1:] > close[:-1], False], 2, 0)
    pred = np.where(rng.random(n) < 1 / 3, nxt, rng.integers(0, 3, n))
    return close, nxt, pred


def test_psr_score_prefers_a_planted_edge() -> None:
    close, nxt, edge = _planted(5)
    symbols = np.array(["X"] * close.size)
    rng = np.random.default_rng(6)

    def score(pred: np.ndarray) -> float:
        result = evaluate_split({1: pred}, {1: nxt}, close, symbols, bars_per_year=72_000)
        return combine_score(result, sharpe_weight=1.0, f1_weight=1.0, sharpe_term="psr")

    planted = score(edge)
    assert planted > score(np.full(close.size, 1)) + 0.5  # never trades
    for _ in range(5):
        assert planted > score(rng.integers(0, 3, close.size)) + 0.5


def test_evaluate_split_passes_positions_to_the_backtest() -> None:
    probs, targets, close, symbols = _split(5)
    positions = np.r_[np.arange(0, 70), np.arange(120, 190), np.arange(500, 600)]
    result = evaluate_split(probs, targets, close, symbols, bars_per_year=252, positions=positions)
    pred = probs[5].argmax(axis=1)
    with_holes = backtest(pred, close, symbols, bars_per_year=252, positions=positions)
    assert result[5][SHARPE] == with_holes[SHARPE]
    assert result[5][SHARPE] != backtest(pred, close, symbols, bars_per_year=252)[SHARPE]
