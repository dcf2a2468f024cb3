"""Selection bias: the deflated Sharpe ratio of a study's best trial, and the probability of
backtest overfitting of the study's selection.

Deflated Sharpe ratio: Bailey, D. H. and López de Prado, M. (2014), "The Deflated Sharpe Ratio:
Correcting for Selection Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio
Management 40 (5), 94-107.

The best of N trials has a high Sharpe ratio partly by luck. The DSR is the probability that its
true Sharpe ratio exceeds the Sharpe ratio that the best of N skill-less trials would show,

    SR0 = sqrt(V) * ((1 - gamma) * Z^-1(1 - 1/N) + gamma * Z^-1(1 - 1/(N e))),

where V is the variance of the trials' Sharpe ratios and gamma Euler's constant, allowing for the
length, skewness and kurtosis of the best trial's returns:

    DSR = Z((SR - SR0) * sqrt(T - 1) / sqrt(1 - skew * SR + (kurtosis - 1) / 4 * SR^2)),

the probabilistic Sharpe ratio (``trading.probabilistic_sharpe``) with SR0 as its benchmark.
All Sharpe ratios here are per bar. The values equal vectorbt's
``returns.vbt.returns(...).deflated_sharpe_ratio()`` (``vectorbt.returns.metrics``), which uses
the same per-bar convention, ddof=1 Sharpe and variance, and biased skewness and (non-excess)
kurtosis; a test says so. Unlike vectorbt, one trial gives SR0 = 0 (the probabilistic Sharpe
ratio) instead of NaN, and returns without dispersion give 0.0 instead of NaN.

Probability of backtest overfitting: Bailey, D. H., Borwein, J., López de Prado, M. and Zhu,
Q. J. (2017), "The Probability of Backtest Overfitting", Journal of Computational Finance 20 (4),
39-69 (working paper 2015), by combinatorially symmetric cross-validation (CSCV); see
``probability_of_backtest_overfitting``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import combinations
from statistics import NormalDist
from typing import Literal, TypedDict

import numpy as np
from numpy.typing import ArrayLike
from scipy import special  # type: ignore[import-untyped]

from harness.metrics.score import Reduce
from harness.metrics.trading import DEFAULT_COST_BPS, probabilistic_sharpe, strategy_returns

BlockMetric = Literal["sharpe", "mean"]

_NORMAL = NormalDist()


def expected_max_sharpe(var_sharpe: float, n_trials: int) -> float:
    """SR0: the expected best Sharpe ratio of `n_trials` skill-less trials whose Sharpe ratios
    have variance `var_sharpe` (per bar). 0 for a single trial."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    if n_trials == 1 or var_sharpe <= 0:
        return 0.0
    z1 = _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
    z2 = _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(var_sharpe) * ((1.0 - np.euler_gamma) * z1 + np.euler_gamma * z2)


def deflated_sharpe(
    returns: ArrayLike,
    trial_sharpes: ArrayLike,
    *,
    bars_per_year: float,
    n_trials: int | None = None,
) -> float:
    """Probability in [0, 1] that the best trial's Sharpe ratio is not luck of selection.

    `returns`: the best trial's bar returns, not annualized (``trading.strategy_returns``).
    `trial_sharpes`: the annualized Sharpe ratio of every trial of the study, the best included,
    annualized with the same `bars_per_year` (as ``backtest`` reports them); non-finite values
    (failed trials) are left out. Their variance, per bar, sizes SR0.
    `n_trials`: the number of independent trials N; default: the finite `trial_sharpes`.
    Trials that are near copies of each other (a sampler circling one optimum) are fewer
    independent trials than trials run; pass a smaller N then.
    0.0 for returns without dispersion (a best trial that never trades): no evidence of skill.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1 or r.size < 2:
        raise ValueError(f"deflated_sharpe needs at least two bar returns, got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("returns must be finite")
    if not (np.isfinite(bars_per_year) and bars_per_year > 0):
        raise ValueError(f"bars_per_year must be finite and > 0, got {bars_per_year}")
    sharpes = np.asarray(trial_sharpes, dtype=np.float64).ravel()
    sharpes = sharpes[np.isfinite(sharpes)] / math.sqrt(bars_per_year)  # per bar
    if n_trials is not None and n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    n = max(sharpes.size, 1) if n_trials is None else int(n_trials)
    var_sharpe = float(np.var(sharpes, ddof=1)) if sharpes.size >= 2 else 0.0
    return probabilistic_sharpe(r, benchmark=expected_max_sharpe(var_sharpe, n))


# ----------------------------------------------------------------------------- PBO (CSCV)

_METRIC_TEXT = {
    "sharpe": "Sharpe ratio (mean / std, ddof=1, per row, not annualized) of the per-row values "
    "over the rows of the chosen blocks",
    "mean": "mean of the per-row values over the rows of the chosen blocks",
}


class PBOResult(TypedDict):
    """``probability_of_backtest_overfitting``'s result: a plain dict, JSON-ready."""

    pbo: float  # share of the splits whose logit is <= 0, in [0, 1]
    n_trials: int  # N, the columns of the performance matrix
    blocks: int  # S
    slope: float | None  # OLS slope of OOS on IS performance of the selected trials
    logits: list[float]  # one per split, in the order of itertools.combinations(range(S), S/2)
    metric: str  # what was compared, in words


def cscv_blocks(n_rows: int, *, n_blocks: int = 16) -> list[tuple[int, int]]:
    """(start, stop) of `n_blocks` contiguous blocks of rows that cover 0..n_rows-1 once each,
    in order, their sizes differing by at most one: the first ``n_rows % n_blocks`` blocks hold
    one row more (``numpy.array_split``'s cut)."""
    if n_blocks < 1 or n_rows < n_blocks:
        raise ValueError(f"cannot cut {n_rows} rows into {n_blocks} non-empty blocks")
    size, extra = divmod(n_rows, n_blocks)
    bounds = np.cumsum([0] + [size + 1] * extra + [size] * (n_blocks - extra))
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def probability_of_backtest_overfitting(
    performance: ArrayLike, *, n_blocks: int = 16, metric: BlockMetric = "sharpe"
) -> PBOResult:
    """Probability of backtest overfitting of choosing the best of N trials, by CSCV.

    Bailey, Borwein, López de Prado and Zhu (2017), "The Probability of Backtest Overfitting":

    1. `performance` [T, N]: one per-row result of each of N trials on the same T rows, in time
       order (per-row strategy returns, ``trial_returns``, or per-row correctness 0/1).
    2. The rows are cut into S = `n_blocks` contiguous blocks (``cscv_blocks``; S even).
    3. Each of the C(S, S/2) ways to choose S/2 blocks is one split: the chosen blocks, joined,
       are in-sample (IS), the others out-of-sample (OOS). 16 blocks give 12,870 splits.
    4. Per split: each trial's performance on the IS rows and on the OOS rows by the `metric`
       (``"sharpe"``: mean / std, ddof=1, of its per-row values, 0 where the std is 0;
       ``"mean"``: their mean); n* = the IS-best trial (the first on ties); its OOS rank r among
       the N trials (1 = worst; ties share their mean rank); w = r / (N + 1), in (0, 1); the
       logit = ln(w / (1 - w)), > 0 when n* lands above the OOS median.
    5. PBO = the share of splits whose logit is <= 0: how often the IS-best trial is at or below
       the OOS median. About 0.5 (1/2 + 1/(2N) for odd N) for skill-less trials, near 0 when one
       trial has a real edge the others lack.
    6. slope = the OLS slope of the selected trials' OOS performance on their IS performance
       over the splits (the paper's "performance degradation"); negative where a higher IS
       figure foretells a lower OOS one. None where the IS figures do not vary. IS and OOS are
       complements, so when one trial is selected in every split its two figures move against
       each other and the slope is near -1 whatever its skill: read it beside the PBO.

    Vectorized over the splits: block sums [S, N] once, then the IS sums of every split as one
    indicator [C, S] @ [S, N] product, the OOS sums as the totals less those. T = 100,000 rows,
    N = 50 trials, S = 16: 0.15-0.4 s on two busy CPU cores (building the matrix with
    ``trial_returns``, 50 backtests of 100,000 rows, takes ~1 s more).
    Rows: at least 2 per block (T >= 2 S). Returns a ``PBOResult`` dict.
    """
    m = np.asarray(performance, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"performance must be [rows, trials], got shape {m.shape}")
    n_rows, n_trials = m.shape
    if n_trials < 2:
        raise ValueError(f"PBO compares trials: performance needs at least 2, got {n_trials}")
    if n_blocks < 2 or n_blocks % 2:
        raise ValueError(f"n_blocks must be even and >= 2, got {n_blocks}")
    if n_rows < 2 * n_blocks:
        raise ValueError(
            f"performance has {n_rows} rows: {n_blocks} blocks need at least {2 * n_blocks}"
        )
    if not np.all(np.isfinite(m)):
        raise ValueError("performance must be finite")
    if metric not in _METRIC_TEXT:
        raise ValueError(f"metric must be one of {sorted(_METRIC_TEXT)}, got {metric!r}")

    starts = np.array([start for start, _ in cscv_blocks(n_rows, n_blocks=n_blocks)])
    overall = m.mean(axis=0)  # [N]
    # Per block: row count, sums, and sums of squares about each column's overall mean (not 0:
    # keeps the variance well conditioned for returns whose mean is far below their spread).
    block_stats = np.column_stack(
        [
            np.diff(np.r_[starts, n_rows]),  # [S]
            np.add.reduceat(m, starts, axis=0),  # [S, N]
            np.add.reduceat((m - overall) ** 2, starts, axis=0),  # [S, N]
        ]
    ).astype(np.float64)  # [S, 1 + 2N]

    def perf(stats: np.ndarray) -> np.ndarray:  # [C, N]
        n = stats[:, :1]  # [C, 1]
        mean = stats[:, 1 : n_trials + 1] / n
        if metric == "mean":
            return mean
        # the sum of squares about the set's own mean, from the one about the overall mean
        spread = np.maximum(stats[:, n_trials + 1 :] - n * (mean - overall) ** 2, 0.0)
        std = np.sqrt(spread / (n - 1))
        # no dispersion (within rounding of a constant column): Sharpe 0, as sharpe_ratio
        defined = std > 1e-12 * np.abs(mean)
        return np.divide(mean, std, out=np.zeros_like(mean), where=defined)

    return _cscv(block_stats, perf, n_blocks=n_blocks, metric=_METRIC_TEXT[metric])


def pbo_of_score(
    classes: ArrayLike,
    targets: ArrayLike,
    returns: ArrayLike,
    *,
    sharpe_weight: float,
    f1_weight: float,
    flat_term: float,
    reduce: Reduce = "mean",
    n_blocks: int = 16,
) -> PBOResult:
    """``probability_of_backtest_overfitting`` of the study's own selection rule: in each split
    the trial with the best score on the IS rows, ranked by its score on the OOS rows.

    The score on a set of rows is ``reduce`` over the H horizons of ``sharpe_weight * PSR_h +
    f1_weight * macro_F1_h`` (``score.combine_score`` with a probability as its Sharpe term):
    macro-F1 of `classes` [T, N, H] (N trials' predicted classes) against `targets` [T, H], and
    the probabilistic Sharpe ratio of `returns` [T, N, H], each trial's per-row returns of the
    score's trading term (``trading.timing_returns`` for ``timing``: demeaned per symbol over all
    T rows, not per block; ``strategy_returns`` for ``psr``). `flat_term`: the term of returns
    without dispersion on a set of rows (0.5 for timing, 0.0 for psr, as their functions give).

    Macro-F1 and PSR are not means of per-row values, so each block keeps what they are made
    of: per trial and horizon the 9 confusion counts and the power sums 1..4 of the returns
    (about each column's overall mean: the central moments stay well conditioned).
    """
    c = np.asarray(classes, dtype=np.int64)
    y = np.asarray(targets, dtype=np.int64)
    r = np.asarray(returns, dtype=np.float64)
    if c.ndim != 3 or r.shape != c.shape or y.shape != (c.shape[0], c.shape[2]):
        raise ValueError(
            f"classes and returns must be [T, N, H] and targets [T, H], got {c.shape}, "
            f"{r.shape} and {y.shape}"
        )
    n_rows, n_trials, n_horizons = c.shape
    if n_trials < 2:
        raise ValueError(f"PBO compares trials: got {n_trials}")
    if n_blocks < 2 or n_blocks % 2 or n_rows < 2 * n_blocks:
        raise ValueError(f"cannot cut {n_rows} rows into {n_blocks} blocks of 2 or more (even)")
    if not np.all(np.isfinite(r)):
        raise ValueError("returns must be finite")
    if reduce not in ("mean", "min", "max"):
        raise ValueError(f"reduce must be mean, min or max, got {reduce!r}")
    starts = np.array([start for start, _ in cscv_blocks(n_rows, n_blocks=n_blocks)])
    block = np.repeat(np.arange(n_blocks), np.diff(np.r_[starts, n_rows]))  # [T]
    stats = np.empty((n_blocks, n_trials, n_horizons, 13))
    center = r.mean(axis=0)  # [N, H]
    for j in range(n_trials):  # one column at a time: [T, N, H, 13] per row would not fit
        for k in range(n_horizons):
            cell = block * 9 + y[:, k] * 3 + c[:, j, k]  # confusion cell (true, predicted)
            stats[:, j, k, :9] = np.bincount(cell, minlength=9 * n_blocks).reshape(-1, 9)
            x = r[:, j, k] - center[j, k]
            for p in range(1, 5):
                stats[:, j, k, 8 + p] = np.add.reduceat(x**p, starts)
    block_stats = np.c_[np.diff(np.r_[starts, n_rows]), stats.reshape(n_blocks, -1)]

    def perf(stats: np.ndarray) -> np.ndarray:  # [C, N]
        n = stats[:, :1, None]  # [C, 1, 1]
        cell = stats[:, 1:].reshape(len(stats), n_trials, n_horizons, 13)
        cm = cell[..., :9].reshape(*cell.shape[:3], 3, 3)  # [C, N, H, true, predicted]
        tp = np.diagonal(cm, axis1=-2, axis2=-1)
        both = cm.sum(axis=-1) + cm.sum(axis=-2)  # support + predicted, per class
        f1 = np.divide(2 * tp, both, out=np.zeros_like(tp), where=both > 0).mean(axis=-1)
        s1, s2, s3, s4 = (cell[..., 9 + k] / n for k in range(4))  # [C, N, H]
        m2 = s2 - s1**2
        m3 = s3 - 3 * s1 * s2 + 2 * s1**3
        m4 = s4 - 4 * s1 * s3 + 6 * s1**2 * s2 - 3 * s1**4
        spread_ok = m2 > 1e-12 * np.maximum(s2, 1e-300)  # within rounding of none: the flat term
        m2 = np.where(spread_ok, m2, 1.0)
        sr = (s1 + center) / np.sqrt(m2 * n / (n - 1))  # the mean of the returns themselves
        skew, kurtosis = m3 / m2**1.5, m4 / m2**2
        denominator = np.maximum(1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr**2, 1e-300)
        psr = special.ndtr(sr * np.sqrt(n - 1) / np.sqrt(denominator))
        term = np.where(spread_ok, psr, flat_term)
        score = sharpe_weight * term + f1_weight * f1  # [C, N, H]
        reduced: np.ndarray = getattr(np, reduce)(score, axis=-1)  # np.mean, np.min, np.max
        return reduced

    return _cscv(
        block_stats,
        perf,
        n_blocks=n_blocks,
        metric=f"the score ({reduce} over horizons of {sharpe_weight:g} x PSR term + "
        f"{f1_weight:g} x macro-F1) over the rows of the chosen blocks",
    )


def _cscv(
    block_stats: np.ndarray,
    perf: Callable[[np.ndarray], np.ndarray],
    *,
    n_blocks: int,
    metric: str,
) -> PBOResult:
    """CSCV from block-additive statistics [S, K]: each split's IS statistics are the sum over
    its blocks (one indicator [C, S] @ [S, K] product), the OOS ones the totals less those;
    `perf` maps statistics [C, K] to each trial's performance [C, N]."""
    chosen = np.array(list(combinations(range(n_blocks), n_blocks // 2)))  # [C, S/2]
    in_sample = np.zeros((len(chosen), n_blocks))  # [C, S] indicator of the IS blocks
    in_sample[np.arange(len(chosen))[:, None], chosen] = 1.0
    is_stats = in_sample @ block_stats  # [C, K]
    oos_stats = block_stats.sum(axis=0) - is_stats  # the other blocks
    is_perf, oos_perf = perf(is_stats), perf(oos_stats)
    n_trials = is_perf.shape[1]
    rows = np.arange(len(chosen))
    best = np.argmax(is_perf, axis=1)  # [C], the first on ties
    best_is, best_oos = is_perf[rows, best], oos_perf[rows, best]
    below = np.sum(oos_perf < best_oos[:, None], axis=1)
    tied = np.sum(oos_perf == best_oos[:, None], axis=1)  # the selected trial included
    rank = below + (tied + 1) / 2.0  # 1..N, the mean rank on ties
    w = rank / (n_trials + 1)
    logits = np.log(w / (1.0 - w))

    x = best_is - best_is.mean()
    sxx = float(x @ x)
    slope = float(x @ (best_oos - best_oos.mean()) / sxx) if sxx > 0 else None
    return {
        "pbo": float(np.mean(logits <= 0)),
        "n_trials": n_trials,
        "blocks": n_blocks,
        "slope": slope,
        "logits": logits.tolist(),
        "metric": metric,
    }


def trial_returns(
    trial_pred_classes: Sequence[ArrayLike],
    close: ArrayLike,
    symbols: ArrayLike,
    *,
    positions: ArrayLike | None = None,
    cost_bps: float = DEFAULT_COST_BPS,
) -> np.ndarray:
    """The performance matrix [T, N] of ``probability_of_backtest_overfitting``: column k is
    ``strategy_returns`` of trial k's predicted classes [T] (one horizon) on the same T rows.

    `close`, `symbols`, `positions`: [T], the rows the predictions were made for, in order;
    `positions` (frame positions) keeps each column from booking a return across a hole.
    """
    if len(trial_pred_classes) == 0:
        raise ValueError("trial_returns needs the predictions of at least one trial")
    columns = [
        strategy_returns(pred, close, symbols, cost_bps=cost_bps, positions=positions)
        for pred in trial_pred_classes
    ]
    return np.column_stack(columns)  # [T, N]
