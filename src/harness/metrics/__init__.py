"""Metrics as pure functions: numpy arrays in, plain Python numbers and dicts out (JSON-ready).

- ``classification``: accuracy, macro-F1, per-class scores, confusion; log-loss, Brier score and
  reliability bins of class probabilities (all equal to scikit-learn's).
- ``trading``: bars per year from timestamps; the backtest of "class 2 long, 0 short, 1 flat",
  per symbol with costs, in numpy (every epoch) and in vectorbt (export, tearsheets), equal.
- ``selection``: the deflated Sharpe ratio of a study's best trial; the probability of backtest
  overfitting (CSCV) of a study's selection, from its trials' per-row results.
- ``score``: ``evaluate_split`` (all metrics of a split, per horizon) and ``combine_score``.

vectorbt is imported only inside the ``vectorbt_*`` functions (it takes ~10 s to import).
"""

from __future__ import annotations

from harness.metrics._names import (
    ACCURACY,
    BRIER,
    BY_SYMBOL,
    CONFUSION,
    DEFLATED_SHARPE,
    EXPOSURE,
    F1,
    LOG_LOSS,
    MACRO_F1,
    MAX_DRAWDOWN,
    N_BARS,
    N_TRADES,
    PBO,
    PRECISION,
    PROFIT_FACTOR,
    PSR,
    RECALL,
    SCORE,
    SHARPE,
    SUPPORT,
    TOTAL_RETURN,
    WIN_RATE,
)
from harness.metrics.classification import (
    calibration_metrics,
    classification_metrics,
    confusion_matrix,
    reliability_bins,
    train_val_gap,
)
from harness.metrics.score import (
    SHARPE_FLOOR,
    Reduce,
    SharpeTerm,
    combine_score,
    evaluate_split,
    horizon_score,
    predicted_classes,
)
from harness.metrics.selection import (
    BlockMetric,
    PBOResult,
    cscv_blocks,
    deflated_sharpe,
    expected_max_sharpe,
    probability_of_backtest_overfitting,
    trial_returns,
)
from harness.metrics.trading import (
    DEFAULT_COST_BPS,
    YEAR,
    BarsPerYear,
    backtest,
    bar_freq,
    bars_per_year,
    bars_per_year_by_symbol,
    max_drawdown,
    probabilistic_sharpe,
    sharpe_ratio,
    strategy_returns,
    vectorbt_backtest,
    vectorbt_metrics,
    vectorbt_portfolios,
)

__all__ = [
    "ACCURACY",
    "BRIER",
    "BY_SYMBOL",
    "CONFUSION",
    "DEFAULT_COST_BPS",
    "DEFLATED_SHARPE",
    "EXPOSURE",
    "F1",
    "LOG_LOSS",
    "MACRO_F1",
    "MAX_DRAWDOWN",
    "N_BARS",
    "N_TRADES",
    "PBO",
    "PRECISION",
    "PROFIT_FACTOR",
    "PSR",
    "RECALL",
    "SCORE",
    "SHARPE",
    "SHARPE_FLOOR",
    "SUPPORT",
    "TOTAL_RETURN",
    "WIN_RATE",
    "YEAR",
    "BarsPerYear",
    "BlockMetric",
    "PBOResult",
    "Reduce",
    "SharpeTerm",
    "backtest",
    "bar_freq",
    "bars_per_year",
    "bars_per_year_by_symbol",
    "calibration_metrics",
    "classification_metrics",
    "combine_score",
    "confusion_matrix",
    "cscv_blocks",
    "deflated_sharpe",
    "evaluate_split",
    "expected_max_sharpe",
    "horizon_score",
    "max_drawdown",
    "predicted_classes",
    "probabilistic_sharpe",
    "probability_of_backtest_overfitting",
    "reliability_bins",
    "sharpe_ratio",
    "strategy_returns",
    "train_val_gap",
    "trial_returns",
    "vectorbt_backtest",
    "vectorbt_metrics",
    "vectorbt_portfolios",
]
