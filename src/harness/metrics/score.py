"""Scoring one split: every metric per horizon, and the one number a trial maximizes.

``evaluate_split`` is the one function behind both the per-epoch validation report and the
exported metrics; ``combine_score`` turns its result into the score (docs/contracts.md).

The score's Sharpe term (`sharpe_term`) is one of

- ``"timing"``: the probabilistic Sharpe ratio of the timing returns (``trading.timing_psr``):
  the position times the bar return in excess of its symbol's mean over the split. A probability
  in [0, 1] on macro-F1's scale, the same at every bar spacing, and 0.5 for any constant
  position: a model is paid for when it is long or short, not for riding the validation
  period's drift. The default of the objective's score (``config.ScoreConfig``).
- ``"psr"``: the probabilistic Sharpe ratio of the strategy's bar returns (``trading.
  probabilistic_sharpe``, Bailey and López de Prado 2012): in a rising validation period an
  always-long rule scores near 1, so selection on it prefers long-biased trials.
- ``"annualized"``: the annualized Sharpe ratio, unbounded and scaled by sqrt(bars per year), so
  a weight tuned on daily bars means something else on 5-minute bars. The default of these
  functions, kept for the callers that use it; reports show it either way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from harness.metrics._names import MACRO_F1, PSR, SHARPE, TIMING_PSR
from harness.metrics.classification import classification_metrics
from harness.metrics.trading import DEFAULT_COST_BPS, BarsPerYear, backtest

Reduce = Literal["mean", "min", "max"]
SharpeTerm = Literal["annualized", "psr", "timing"]

SHARPE_FLOOR = -10.0
"""Sharpe used in the score when a horizon's Sharpe is not finite (NaN or +-inf: a degenerate
series from outside ``backtest``, which itself always reports a finite Sharpe). It ranks such a
trial below any real annualized Sharpe, yet keeps the score finite for samplers and pruners."""

_REDUCE: dict[Reduce, Callable[[list[float]], Any]] = {
    "mean": np.mean,
    "min": np.min,
    "max": np.max,
}
_SHARPE_KEY = {"annualized": SHARPE, "psr": PSR, "timing": TIMING_PSR}


def predicted_classes(output: ArrayLike) -> np.ndarray:
    """Class indices [N] from class scores [N, C] (probabilities or logits: argmax) or from
    class indices [N] (returned as they are)."""
    arr = np.asarray(output)
    if arr.ndim == 2:
        return np.argmax(arr, axis=1)
    if arr.ndim == 1:
        return arr
    raise ValueError(f"expected class scores [N, C] or class indices [N], got shape {arr.shape}")


def evaluate_split(
    outputs: Mapping[int, ArrayLike],
    targets: Mapping[int, ArrayLike],
    close: ArrayLike,
    symbols: ArrayLike,
    *,
    bars_per_year: BarsPerYear,
    cost_bps: float = DEFAULT_COST_BPS,
    positions: ArrayLike | None = None,
) -> dict[int, dict[str, Any]]:
    """Classification metrics and backtest of each horizon of one split.

    `outputs`: per horizon, class scores [N, 3] or predicted classes [N]; `targets`: per horizon,
    true classes [N] (0 short, 1 neutral, 2 long); `close`, `symbols`: [N], the split's rows in
    order, grouped by symbol. `bars_per_year`: one figure or, better, one per symbol
    (``trading.bars_per_year_by_symbol``), computed once from the train and val timestamps
    (never the test split's). `positions`: int [N], the rows' positions in the full frame, so
    that the backtest books nothing across a hole in the split (``trading.backtest``).
    Returns ``{h: {**classification_metrics, **backtest}}``.
    """
    missing = sorted(set(outputs) - set(targets))
    if missing:
        raise KeyError(f"no targets for horizons {missing} (targets have {sorted(targets)})")
    result: dict[int, dict[str, Any]] = {}
    for h in sorted(outputs):
        pred = predicted_classes(outputs[h])
        result[h] = {
            **classification_metrics(targets[h], pred),
            **backtest(
                pred,
                close,
                symbols,
                bars_per_year=bars_per_year,
                cost_bps=cost_bps,
                positions=positions,
            ),
        }
    return result


def horizon_score(
    metrics: Mapping[str, Any],
    *,
    sharpe_weight: float,
    f1_weight: float,
    sharpe_term: SharpeTerm = "annualized",
) -> float:
    """sharpe_weight * S + f1_weight * macro_f1 of one horizon, S the `sharpe_term`.

    ``"annualized"``: S = ``metrics["sharpe"]``, ``SHARPE_FLOOR`` where it is not finite.
    ``"psr"`` and ``"timing"``: S = ``metrics["psr"]`` or ``metrics["timing_psr"]`` in [0, 1]
    (ValueError outside), 0.0 where it is not finite (the bottom of its scale).
    """
    if sharpe_term not in _SHARPE_KEY:
        raise ValueError(f"sharpe_term must be one of {sorted(_SHARPE_KEY)}, got {sharpe_term!r}")
    sharpe_key = _SHARPE_KEY[sharpe_term]
    for key in (sharpe_key, MACRO_F1):
        if key not in metrics:
            raise KeyError(f"metric {key!r} not found (have {sorted(metrics)})")
    return sharpe_weight * metric_term(metrics, sharpe_key) + f1_weight * metric_term(
        metrics, MACRO_F1
    )


def metric_term(metrics: Mapping[str, Any], key: str) -> float:
    """``metrics[key]`` of one horizon as a score counts it: a probability (``psr``,
    ``timing_psr``) must lie in [0, 1] and counts 0.0 where it is not finite; the annualized
    ``sharpe`` counts ``SHARPE_FLOOR`` where it is not finite; any other metric (macro-F1,
    accuracy) must be finite (ValueError)."""
    if key not in metrics:
        raise KeyError(f"metric {key!r} not found (have {sorted(metrics)})")
    value = float(metrics[key])
    if key in (PSR, TIMING_PSR):
        if not math.isfinite(value):
            return 0.0
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{key} must be a probability in [0, 1], got {value}")
        return value
    if key == SHARPE:
        return value if math.isfinite(value) else SHARPE_FLOOR
    if not math.isfinite(value):
        raise ValueError(f"{key} must be finite, got {value}")
    return value


def combine_score(
    per_horizon: Mapping[int, Mapping[str, Any]],
    *,
    sharpe_weight: float,
    f1_weight: float,
    horizons: Sequence[int] | None = None,
    reduce: Reduce = "mean",
    sharpe_term: SharpeTerm = "annualized",
) -> float:
    """The score: ``reduce`` over `horizons` (default: all) of
    ``sharpe_weight * S_h + f1_weight * macro_f1_h`` (``horizon_score``).

    `per_horizon`: ``evaluate_split``'s result (or any {h: {"sharpe" or "psr", "macro_f1",
    ...}}). ``reduce="min"`` scores a trial by its worst horizon, ``"max"`` by its best.
    `sharpe_term`: ``"psr"`` (S_h = the probabilistic Sharpe ratio of the horizon's bar returns,
    in [0, 1]: one meaning at every bar spacing; what ``ScoreConfig`` passes by default) or
    ``"annualized"`` (S_h = annualized Sharpe; this function's default).
    """
    scores = [
        horizon_score(
            per_horizon[h],
            sharpe_weight=sharpe_weight,
            f1_weight=f1_weight,
            sharpe_term=sharpe_term,
        )
        for h in _horizons(per_horizon, horizons, reduce)
    ]
    return float(_REDUCE[reduce](scores))


def reduce_metric(
    per_horizon: Mapping[int, Mapping[str, Any]],
    key: str,
    *,
    horizons: Sequence[int] | None = None,
    reduce: Reduce = "mean",
) -> float:
    """``reduce`` over `horizons` (default: all) of metric `key` of each horizon, counted as
    the score counts it (``metric_term``): one objective of a Pareto search."""
    terms = [metric_term(per_horizon[h], key) for h in _horizons(per_horizon, horizons, reduce)]
    return float(_REDUCE[reduce](terms))


def _horizons(
    per_horizon: Mapping[int, Any], horizons: Sequence[int] | None, reduce: Reduce
) -> list[int]:
    """The horizons to reduce over (default: all), each checked to have metrics."""
    if reduce not in _REDUCE:
        raise ValueError(f"reduce must be one of {sorted(_REDUCE)}, got {reduce!r}")
    chosen = sorted(per_horizon) if horizons is None else list(horizons)
    if not chosen:
        raise ValueError("a score needs at least one horizon")
    missing = [h for h in chosen if h not in per_horizon]
    if missing:
        raise KeyError(f"no metrics for horizons {missing} (have {sorted(per_horizon)})")
    return chosen
