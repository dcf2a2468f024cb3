from __future__ import annotations

import itertools
import json
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from harness.metrics import (
    MACRO_F1,
    TIMING_PSR,
    classification_metrics,
    combine_score,
    cscv_blocks,
    deflated_sharpe,
    expected_max_sharpe,
    pbo_of_score,
    probabilistic_sharpe,
    probability_of_backtest_overfitting,
    sharpe_ratio,
    strategy_returns,
    timing_psr,
    trial_returns,
)

BARS = 252.0


def _trials(seed: int, n_trials: int = 20, n_bars: int = 400) -> np.ndarray:
    """[n_bars, n_trials] fat-tailed, skewed bar returns with a little skill in some trials."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_t(df=4, size=(n_bars, n_trials)) * 0.01
    skewed = rng.exponential(0.004, size=(n_bars, n_trials)) - 0.004
    return noise + skewed + rng.uniform(-0.0005, 0.0015, n_trials)


def _annualized(returns: np.ndarray) -> np.ndarray:
    return np.array([sharpe_ratio(col, bars_per_year=BARS) for col in returns.T])


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_equals_vectorbt(vbt: ModuleType, seed: int) -> None:
    returns = _trials(seed)
    acc = pd.DataFrame(returns).vbt.returns(freq="1D", year_freq=pd.Timedelta(days=BARS))
    ref = acc.deflated_sharpe_ratio().to_numpy()
    sharpes = acc.sharpe_ratio().to_numpy()  # annualized by vectorbt
    ours = [deflated_sharpe(col, sharpes, bars_per_year=BARS) for col in returns.T]
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_one_trial_is_the_probabilistic_sharpe_ratio() -> None:
    r = _trials(5)[:, 0]
    sr = r.mean() / r.std(ddof=1)
    skew, kurt = stats.skew(r), stats.kurtosis(r, fisher=False)
    z = sr * np.sqrt(r.size - 1) / np.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    ours = deflated_sharpe(r, [sr * np.sqrt(BARS)], bars_per_year=BARS)
    assert ours == pytest.approx(stats.norm.cdf(z), rel=1e-12)


def test_expected_max_sharpe_approximates_the_mean_maximum() -> None:
    # E[max of N standard normals], by simulation; the approximation is within a few percent.
    rng = np.random.default_rng(0)
    simulated = rng.standard_normal((20_000, 100)).max(axis=1).mean()
    assert expected_max_sharpe(1.0, 100) == pytest.approx(simulated, rel=0.02)
    assert expected_max_sharpe(4.0, 100) == pytest.approx(2 * expected_max_sharpe(1.0, 100))
    assert expected_max_sharpe(1.0, 1) == 0.0


def test_more_trials_deflate_more() -> None:
    returns = _trials(1)
    sharpes = _annualized(returns)
    best = returns[:, int(np.argmax(sharpes))]
    values = [deflated_sharpe(best, sharpes, bars_per_year=BARS, n_trials=n) for n in (2, 20, 200)]
    assert values[0] > values[1] > values[2]


def test_wider_spread_of_trials_deflates_more() -> None:
    returns = _trials(2)
    sharpes = _annualized(returns)
    best = returns[:, int(np.argmax(sharpes))]
    narrow = deflated_sharpe(best, sharpes, bars_per_year=BARS)
    wide = deflated_sharpe(best, 3 * sharpes, bars_per_year=BARS, n_trials=sharpes.size)
    assert wide < narrow


def test_is_a_probability_and_ignores_failed_trials() -> None:
    returns = _trials(3)
    sharpes = _annualized(returns)
    for col in returns.T:
        assert 0.0 <= deflated_sharpe(col, sharpes, bars_per_year=BARS) <= 1.0
    with_failed = np.r_[sharpes, np.nan, -np.inf]
    assert deflated_sharpe(returns[:, 0], with_failed, bars_per_year=BARS) == deflated_sharpe(
        returns[:, 0], sharpes, bars_per_year=BARS
    )


def test_constant_returns_give_no_evidence_of_skill() -> None:
    # As the probabilistic Sharpe ratio: a best trial that never trades is not a coin flip.
    assert deflated_sharpe(np.zeros(50), [0.0], bars_per_year=BARS) == 0.0


@pytest.mark.parametrize(
    ("returns", "kwargs"),
    [
        ([0.01], {}),  # one bar
        ([0.01, np.nan, 0.02], {}),
        ([0.01, 0.02, 0.0], {"n_trials": 0}),
    ],
)
def test_bad_input_is_rejected(returns: list, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        deflated_sharpe(returns, [1.0, 2.0], bars_per_year=BARS, **kwargs)


# ----------------------------------------------------------------------------- PBO (CSCV)


@pytest.mark.parametrize(("n_rows", "n_blocks"), [(16, 16), (100, 16), (103, 16), (7, 2), (50, 6)])
def test_cscv_blocks_cover_every_row_once(n_rows: int, n_blocks: int) -> None:
    blocks = cscv_blocks(n_rows, n_blocks=n_blocks)
    assert len(blocks) == n_blocks
    rows = np.concatenate([np.arange(start, stop) for start, stop in blocks])
    np.testing.assert_array_equal(rows, np.arange(n_rows))  # each row once, in order
    sizes = [stop - start for start, stop in blocks]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


def test_cscv_blocks_need_a_row_per_block() -> None:
    with pytest.raises(ValueError):
        cscv_blocks(15, n_blocks=16)


# Block means of trials A, B, C in blocks 0..3; each block is two rows, mean + 0.5 and mean - 0.5.
WORKED_BLOCKS = np.array([[4, 1, 2], [0, 2, 4], [1, 0, 5], [2, 6, 4]], dtype=float)
# By hand, per split (IS blocks): IS sums A, B, C -> best; OOS sums (totals 7, 9, 15 less IS);
# the OOS rank of the best (ties share their mean rank); w = rank / 4; logit; IS and OOS means.
#   (0, 1): IS 4, 3, 6 -> C; OOS 3, 6, 9: rank 3,   w 3/4,   ln 3;      means 3.0, 4.5
#   (0, 2): IS 5, 1, 7 -> C; OOS 2, 8, 8: rank 2.5, w 5/8,   ln(5/3);   means 3.5, 4.0
#   (0, 3): IS 6, 7, 6 -> B; OOS 1, 2, 9: rank 2,   w 1/2,   0;         means 3.5, 1.0
#   (1, 2): IS 1, 2, 9 -> C; OOS 6, 7, 6: rank 1.5, w 3/8,   ln(3/5);   means 4.5, 3.0
#   (1, 3): IS 2, 8, 8 -> B (first of a tie); OOS 5, 1, 7: rank 1, w 1/4, ln(1/3); 4.0, 0.5
#   (2, 3): IS 3, 6, 9 -> C; OOS 4, 3, 6: rank 3,   w 3/4,   ln 3;      means 4.5, 3.0
WORKED_LOGITS = np.log([3, 5 / 3, 1, 3 / 5, 1 / 3, 3])
WORKED_PBO = 3 / 6  # logits <= 0: (0, 3), (1, 2), (1, 3)
WORKED_IS = [3.0, 3.5, 3.5, 4.5, 4.0, 4.5]
WORKED_OOS = [4.5, 4.0, 1.0, 3.0, 0.5, 3.0]


def test_pbo_worked_example() -> None:
    rows = np.repeat(WORKED_BLOCKS, 2, axis=0) + np.tile([[0.5], [-0.5]], (4, 1))  # [8, 3]
    result = probability_of_backtest_overfitting(rows, n_blocks=4, metric="mean")
    np.testing.assert_allclose(result["logits"], WORKED_LOGITS, rtol=0, atol=1e-12)
    assert result["pbo"] == WORKED_PBO
    assert result["slope"] == pytest.approx(np.polyfit(WORKED_IS, WORKED_OOS, 1)[0])
    assert result["slope"] == pytest.approx(-8 / 11)  # sum dx dy = -4/3, sum dx^2 = 11/6
    assert (result["n_trials"], result["blocks"]) == (3, 4)
    assert "mean" in result["metric"]


def _pbo_by_loops(m: np.ndarray, n_blocks: int) -> tuple[list[float], float]:
    """CSCV written out split by split, with scipy's ranks: the reference for the Sharpe metric."""
    blocks = np.array_split(np.arange(m.shape[0]), n_blocks)
    logits, is_best, oos_best = [], [], []
    for chosen in itertools.combinations(range(n_blocks), n_blocks // 2):
        is_rows = np.concatenate([blocks[k] for k in chosen])
        oos_rows = np.concatenate([blocks[k] for k in range(n_blocks) if k not in chosen])
        is_sr = m[is_rows].mean(axis=0) / m[is_rows].std(axis=0, ddof=1)
        oos_sr = m[oos_rows].mean(axis=0) / m[oos_rows].std(axis=0, ddof=1)
        best = int(np.argmax(is_sr))
        w = stats.rankdata(oos_sr)[best] / (m.shape[1] + 1)
        logits.append(np.log(w / (1 - w)))
        is_best.append(is_sr[best])
        oos_best.append(oos_sr[best])
    return logits, float(np.polyfit(is_best, oos_best, 1)[0])


@pytest.mark.parametrize("seed", range(2))
def test_pbo_sharpe_equals_the_split_by_split_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = rng.standard_t(df=4, size=(97, 7)) * 0.01 + rng.normal(0, 0.002, 7)  # uneven blocks
    logits, slope = _pbo_by_loops(m, 6)
    result = probability_of_backtest_overfitting(m, n_blocks=6)
    np.testing.assert_allclose(result["logits"], logits, rtol=1e-9, atol=1e-12)
    assert result["pbo"] == np.mean(np.array(logits) <= 0)
    assert result["slope"] == pytest.approx(slope, rel=1e-9)


def test_pbo_of_noise_is_about_one_half() -> None:
    # Skill-less trials: the IS-best lands above or below the OOS median alike. One data set's
    # 12,870 splits share its rows, so a single PBO spreads widely (sd ~0.2 over seeds, by
    # simulation); the mean over 16 seeds has a standard error of ~0.05, and 0.5 +- 0.12 allows
    # for ~2.4 of them. N = 20 (even): no rank sits exactly on the median.
    values = []
    for seed in range(16):
        rng = np.random.default_rng(seed)
        result = probability_of_backtest_overfitting(rng.normal(0, 0.01, (480, 20)))
        assert len(result["logits"]) == 12_870
        values.append(result["pbo"])
    assert np.mean(values) == pytest.approx(0.5, abs=0.12)


@pytest.mark.parametrize("seed", range(2))
def test_pbo_of_a_real_edge_is_about_zero(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = rng.normal(0, 0.01, (480, 20))
    m[:, 7] += 0.003  # a per-row Sharpe of 0.3 against none
    result = probability_of_backtest_overfitting(m)
    assert result["pbo"] < 0.02
    assert np.median(result["logits"]) == pytest.approx(np.log(20))  # the OOS best


def test_pbo_from_stored_predictions() -> None:
    # 12 trials' predicted classes of 600 rows of two symbols, with a hole; one of them knows
    # the next bar's move on a third of the rows.
    rng = np.random.default_rng(3)
    close = np.r_[100 * np.exp(np.cumsum(rng.normal(0, 0.002, 350))), np.linspace(50, 60, 250)]
    symbols = np.array(["MES"] * 350 + ["MGC"] * 250)
    positions = np.r_[np.arange(0, 200), np.arange(260, 410), np.arange(900, 1150)]
    up = np.where(np.r_[close[1:] > close[:-1], False], 2, 0)
    preds = [rng.integers(0, 3, 600).astype(np.int8) for _ in range(12)]
    preds[4] = np.where(rng.random(600) < 1 / 3, up, preds[4]).astype(np.int8)
    m = trial_returns(preds, close, symbols, positions=positions)
    assert m.shape == (600, 12)
    np.testing.assert_array_equal(
        m[:, 4], strategy_returns(preds[4], close, symbols, positions=positions)
    )
    entry_fee_only = 1 / (1 + 1e-4) - 1 if preds[0][200] != 1 else 0.0
    assert m[200, 0] == pytest.approx(entry_fee_only, abs=1e-15)  # the first row after the hole
    assert probability_of_backtest_overfitting(m)["pbo"] < 0.05


def test_pbo_of_constant_trials_is_defined() -> None:
    # Trials that never trade (all-zero returns) have Sharpe 0 in every split, not NaN.
    rng = np.random.default_rng(4)
    m = np.c_[rng.normal(0, 0.01, (64, 3)), np.zeros((64, 2)), np.full((64, 1), 0.1)]
    result = probability_of_backtest_overfitting(m, n_blocks=4)
    assert np.all(np.isfinite(result["logits"])) and 0.0 <= result["pbo"] <= 1.0
    assert json.loads(json.dumps(result, allow_nan=False)) == result


@pytest.mark.parametrize(
    ("shape", "kwargs"),
    [
        ((64, 1), {}),  # one trial: nothing to select from
        ((64, 3), {"n_blocks": 5}),  # odd
        ((31, 3), {"n_blocks": 16}),  # fewer than two rows per block
        ((64,), {}),
        ((64, 3), {"metric": "sortino"}),
    ],
)
def test_pbo_rejects_bad_input(shape: tuple, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        probability_of_backtest_overfitting(np.ones(shape), **kwargs)


def _noise_dsr(n_counted: int, *, reps: int = 40, trials: int = 20, epochs: int = 10) -> float:
    """Mean DSR of the best of `trials` x `epochs` pure-noise val results, deflated as if
    `n_counted` tries had been made."""
    rng = np.random.default_rng(7)
    found = []
    for _ in range(reps):
        returns = 0.01 * rng.standard_normal((trials * epochs, 500))  # every (trial, epoch)
        sharpes = returns.mean(1) / returns.std(1, ddof=1)
        best = returns[int(np.argmax(sharpes))]
        found.append(deflated_sharpe(best, sharpes, bars_per_year=1.0, n_trials=n_counted))
    return float(np.mean(found))


def test_deflating_by_every_trial_and_epoch_gives_noise_a_dsr_near_one_half() -> None:
    assert 0.35 < _noise_dsr(20 * 10) < 0.65
    assert _noise_dsr(20) > 0.75  # counting trials alone: the optimism the epochs hide


def _score_pbo_by_loops(
    classes: np.ndarray,
    targets: np.ndarray,
    returns: np.ndarray,
    n_blocks: int,
    reduce: str,
    term: Any,
) -> list[float]:
    """CSCV of the score (its trading `term` of the returns weighted as much as macro-F1, so
    that it decides) written out split by split with the score's own functions."""
    blocks = np.array_split(np.arange(len(targets)), n_blocks)
    n_trials, horizons = classes.shape[1], range(classes.shape[2])

    def score(rows: np.ndarray, j: int) -> float:
        per = {
            k: {
                MACRO_F1: classification_metrics(targets[rows, k], classes[rows, j, k])[MACRO_F1],
                TIMING_PSR: term(returns[rows, j, k]),
            }
            for k in horizons
        }
        return combine_score(
            per, sharpe_weight=1.0, f1_weight=1.0, sharpe_term="timing", reduce=reduce
        )

    logits = []
    for chosen in itertools.combinations(range(n_blocks), n_blocks // 2):
        is_rows = np.concatenate([blocks[k] for k in chosen])
        oos_rows = np.concatenate([blocks[k] for k in range(n_blocks) if k not in chosen])
        is_score = [score(is_rows, j) for j in range(n_trials)]
        oos_score = [score(oos_rows, j) for j in range(n_trials)]
        w = stats.rankdata(oos_score)[int(np.argmax(is_score))] / (n_trials + 1)
        logits.append(np.log(w / (1 - w)))
    return logits


@pytest.mark.parametrize(
    ("reduce", "term", "flat"),
    [("mean", timing_psr, 0.5), ("min", timing_psr, 0.5), ("max", probabilistic_sharpe, 0.0)],
)
def test_pbo_of_score_equals_the_split_by_split_computation(
    reduce: str, term: Any, flat: float
) -> None:
    rng = np.random.default_rng(11)
    rows, trials, horizons = 203, 5, 2
    targets = rng.integers(0, 3, (rows, horizons))
    classes = rng.integers(0, 3, (rows, trials, horizons))
    for skilled in (2, 4):
        classes[:, skilled] = np.where(
            rng.random((rows, horizons)) < 0.3, targets, classes[:, skilled]
        )
    returns = rng.standard_t(df=5, size=(rows, trials, horizons)) * 0.01 + 0.002
    returns[:, 4, 0] = 0.0  # a trial that never trades at one horizon: the flat term, 0.5
    returns[:60, 3, 1] = 0.0  # ... and one that trades in some blocks only
    returns[:, 2, 1] = np.where(np.arange(rows) < 102, 0.001, 0.002)  # constant in blocks 0-2
    logits = _score_pbo_by_loops(classes, targets, returns, 6, reduce, term)
    result = pbo_of_score(
        classes,
        targets,
        returns,
        sharpe_weight=1.0,
        f1_weight=1.0,
        flat_term=flat,
        reduce=reduce,
        n_blocks=6,
    )
    np.testing.assert_allclose(result["logits"], logits, rtol=0, atol=1e-9)
    assert result["pbo"] == np.mean(np.array(logits) <= 0)
    assert "score" in result["metric"]


def test_pbo_of_score_finds_a_real_edge() -> None:
    # One of 12 trials predicts the class right on half of the rows; the rest guess.
    rng = np.random.default_rng(12)
    targets = rng.integers(0, 3, (800, 3))
    classes = rng.integers(0, 3, (800, 12, 3))
    classes[:, 5] = np.where(rng.random((800, 3)) < 0.5, targets, classes[:, 5])
    returns = rng.normal(0, 0.01, (800, 12, 3))
    result = pbo_of_score(
        classes, targets, returns, sharpe_weight=0.1, f1_weight=1.0, flat_term=0.5
    )
    assert result["pbo"] < 0.02 and len(result["logits"]) == 12_870
