"""Deflated Sharpe ratio of a study's best trial.

Bailey, D. H. and López de Prado, M. (2014), "The Deflated Sharpe Ratio: Correcting for Selection
Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40 (5), 94-107.

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
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

from harness.metrics.trading import probabilistic_sharpe

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
