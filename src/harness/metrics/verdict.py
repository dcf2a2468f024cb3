"""Does a model beat the reference? The difference in val macro-F1 and log-loss, with an interval.

The rows of a split are not independent (labels of neighbouring bars overlap, volatility
clusters), so the interval comes from a block bootstrap: the rows, in split order, are cut into
contiguous blocks of about `block` rows; each resample draws as many blocks with replacement and
scores both models on the same drawn rows; the interval is the percentile interval of the
differences (model minus reference; for log-loss, reference minus model, so that positive
always means the model is better).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from harness.metrics.classification import as_class_indices

N_CLASSES = 3
DEFAULT_BLOCK = 100  # rows per block: several times the longest horizon of 20 bars
DEFAULT_RESAMPLES = 1000
DEFAULT_LEVEL = 0.9


def _macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """Macro-F1 over the classes present in `y` or `pred`, as sklearn's f1_score(average=
    "macro") with zero_division=0 (classes of neither count nowhere)."""
    scores = []
    for c in range(N_CLASSES):
        tp = np.sum((pred == c) & (y == c))
        fp = np.sum((pred == c) & (y != c))
        fn = np.sum((pred != c) & (y == c))
        if tp + fp + fn == 0:
            continue
        scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0


def _row_log_loss(y: np.ndarray, probs: np.ndarray) -> np.ndarray:
    eps = np.finfo(np.float64).eps
    p = np.clip(probs[np.arange(y.size), y].astype(np.float64), eps, 1 - eps)
    return -np.log(p)


def compare(
    y_true: ArrayLike,
    model_probs: ArrayLike,
    reference_probs: ArrayLike,
    *,
    block: int = DEFAULT_BLOCK,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
) -> dict[str, Any]:
    """``{"macro_f1": {...}, "log_loss": {...}}``, each ``{"difference", "low", "high"}``:
    the model's advantage over the reference on these rows (positive: the model is better) and
    its `level` block-bootstrap interval, plus ``"beats"`` (the interval lies above 0)."""
    y = as_class_indices(y_true, n_classes=N_CLASSES, name="y_true")
    a = np.asarray(model_probs, dtype=np.float64)
    b = np.asarray(reference_probs, dtype=np.float64)
    if a.shape != (y.size, N_CLASSES) or b.shape != a.shape:
        raise ValueError(f"expected probabilities [{y.size}, 3], got {a.shape} and {b.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    pred_a, pred_b = a.argmax(1), b.argmax(1)
    loss_gain = _row_log_loss(y, b) - _row_log_loss(y, a)  # [N]: positive where a is better
    starts = np.arange(0, y.size, max(1, block))
    stops = np.r_[starts[1:], y.size]
    rng = np.random.default_rng(seed)
    f1_diffs, loss_diffs = np.empty(resamples), np.empty(resamples)
    for k in range(resamples):
        chosen = rng.integers(0, starts.size, starts.size)
        rows = np.concatenate([np.arange(starts[i], stops[i]) for i in chosen])
        f1_diffs[k] = _macro_f1(y[rows], pred_a[rows]) - _macro_f1(y[rows], pred_b[rows])
        loss_diffs[k] = loss_gain[rows].mean()
    tail = (1 - level) / 2 * 100
    out: dict[str, Any] = {"level": level, "block_rows": int(block), "resamples": resamples}
    for name, point, diffs in (
        ("macro_f1", _macro_f1(y, pred_a) - _macro_f1(y, pred_b), f1_diffs),
        ("log_loss", float(loss_gain.mean()), loss_diffs),
    ):
        low, high = np.percentile(diffs, [tail, 100 - tail])
        out[name] = {
            "difference": float(point),
            "low": float(low),
            "high": float(high),
            "beats": bool(low > 0),
        }
    return out


def sentence(model: str, horizon: int, found: dict[str, Any], *, metric: str = "macro_f1") -> str:
    """One plain sentence of `compare`'s result for `metric`."""
    m = found[metric]
    what = "macro-F1" if metric == "macro_f1" else "log-loss"
    bars = f"{horizon} bar{'' if horizon == 1 else 's'}"
    interval = f"{found['level']:.0%} interval {m['low']:.3f} to {m['high']:.3f}"
    if m["beats"]:
        return (
            f"{model} beats the reference at {bars} by {m['difference']:.3f} of {what} ({interval})"
        )
    return (
        f"{model} does not beat the reference at {bars} (difference in {what} "
        f"{m['difference']:+.3f}, {interval})"
    )
