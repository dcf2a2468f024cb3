"""Metric names: the keys of the metric dicts, shared by metrics, training, search and export.

Kept in a module of their own so that the metric modules and the package ``__init__`` can both
import them without a cycle. Import them from ``harness.metrics``.
"""

from __future__ import annotations

SCORE = "val_score"
"""The one number a trial reports each epoch (for pruning) and the study maximizes."""

# classification_metrics
ACCURACY = "accuracy"
MACRO_F1 = "macro_f1"
F1 = "f1"  # per class, list indexed by class 0, 1, 2
PRECISION = "precision"  # per class
RECALL = "recall"  # per class
CONFUSION = "confusion"  # list of lists, rows = true class, columns = predicted class
SUPPORT = "support"  # true rows per class

# calibration_metrics (class probabilities)
LOG_LOSS = "log_loss"  # mean over rows of -ln p(true class), natural log
BRIER = "brier"  # mean over rows of the sum over classes of (p_c - 1[y == c])^2, in [0, 2]

# backtest
SHARPE = "sharpe"
"""Annualized Sharpe of the bar returns (mean / std, ddof=1, * sqrt(bars per year)). With one
bars-per-year figure, the all-symbol value is the Sharpe of the combined series; with one figure
per symbol, each symbol is annualized with its own and the all-symbol value is the mean of the
per-symbol annualized Sharpes."""
PSR = "psr"  # probabilistic Sharpe ratio in [0, 1], per bar: P[true Sharpe > 0]
TIMING_PSR = "timing_psr"
"""The PSR of what the position's timing earned: the position held over each bar times the bar's
return in excess of its symbol's mean bar return over the split's rows, gross of costs. Holding
any constant position (always long, short or flat) earns nothing in excess of the drift, so it
gets 0.5, the no-skill value, in a rising market as in a falling one."""
BUY_HOLD_SHARPE = "buy_hold_sharpe"
"""Annualized Sharpe of holding the symbol long over the same rows, gross of costs: the bar any
strategy Sharpe is read against (all symbols: the mean of the symbols', as for SHARPE)."""
MAX_DRAWDOWN = "max_drawdown"  # positive fraction of the running peak (0.2 = 20 % down)
TOTAL_RETURN = "total_return"
N_TRADES = "n_trades"
WIN_RATE = "win_rate"  # None when there is no trade
PROFIT_FACTOR = "profit_factor"  # None when no trade lost
EXPOSURE = "exposure"  # fraction of bars a position is held over
N_BARS = "n_bars"
BY_SYMBOL = "by_symbol"  # {symbol: the same metrics for that symbol alone}

# selection
DEFLATED_SHARPE = "deflated_sharpe"
PBO = "pbo"  # probability of backtest overfitting (CSCV), in [0, 1]
