"""Classification metrics from one confusion matrix (numpy only: this runs every epoch), and the
calibration of class probabilities.

The values equal scikit-learn's ``accuracy_score``, ``f1_score(average="macro",
labels=range(n_classes), zero_division=0)``, ``precision_recall_fscore_support(...,
zero_division=0)`` and ``confusion_matrix(labels=range(n_classes))``; and, for probabilities,
``log_loss(labels=range(n_classes))``, the multi-class ``brier_score_loss`` (Brier 1950: summed
over classes, not halved) and ``calibration_curve(strategy="uniform")`` per class; tests say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from harness.metrics._names import (
    ACCURACY,
    BRIER,
    CONFUSION,
    F1,
    LOG_LOSS,
    MACRO_F1,
    PRECISION,
    RECALL,
    SUPPORT,
)


def as_class_indices(values: ArrayLike, *, n_classes: int, name: str) -> np.ndarray:
    """`values` as a 1-D int64 array of class indices in [0, n_classes); ValueError otherwise."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D class indices, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must hold whole class indices, got non-integer values")
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"{name} must be integer class indices, got dtype {arr.dtype}")
    out = arr.astype(np.int64)
    if out.size and (out.min() < 0 or out.max() >= n_classes):
        bad = np.flatnonzero((out < 0) | (out >= n_classes))
        raise ValueError(
            f"{name} holds values outside 0..{n_classes - 1} (rows {bad[:5].tolist()}"
            f"{'...' if bad.size > 5 else ''})"
        )
    return out


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, *, n_classes: int = 3) -> np.ndarray:
    """int64 [n_classes, n_classes]: rows = true class, columns = predicted class."""
    yt = as_class_indices(y_true, n_classes=n_classes, name="y_true")
    yp = as_class_indices(y_pred, n_classes=n_classes, name="y_pred")
    if yt.shape != yp.shape:
        raise ValueError(f"y_true and y_pred differ in length: {yt.size} vs {yp.size}")
    counts = np.bincount(yt * n_classes + yp, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)  # (true, pred)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den == 0 (scikit-learn's zero_division=0)."""
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def classification_metrics(
    y_true: ArrayLike, y_pred: ArrayLike, *, n_classes: int = 3
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class F1/precision/recall, confusion matrix and support.

    `y_true`, `y_pred`: class indices [N] in 0..n_classes-1. Per-class lists are indexed by class.
    A class never predicted has precision 0; a class absent from `y_true` has recall 0; either
    has F1 0 when it has no true positives, and still counts in the macro mean (labels are always
    all n_classes). Returns plain Python numbers (JSON-serializable).
    """
    cm = confusion_matrix(y_true, y_pred, n_classes=n_classes)
    n = int(cm.sum())
    if n == 0:
        raise ValueError("classification_metrics needs at least one row, got none")
    tp = np.diag(cm)
    support = cm.sum(axis=1)  # true rows per class
    predicted = cm.sum(axis=0)  # predicted rows per class
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, support)
    # 2tp / (2tp + fp + fn), the form scikit-learn uses; fp + fn + 2tp = predicted + support.
    f1 = _ratio(2 * tp, predicted + support)
    return {
        ACCURACY: float(tp.sum() / n),
        MACRO_F1: float(f1.mean()),
        F1: f1.tolist(),
        PRECISION: precision.tolist(),
        RECALL: recall.tolist(),
        CONFUSION: cm.tolist(),
        SUPPORT: support.tolist(),
    }


def train_val_gap(
    train: Mapping[Any, Mapping[str, Any]], val: Mapping[Any, Mapping[str, Any]]
) -> dict[str, float | None]:
    """Relative drop of macro-F1 from train to val per horizon: (train - val) / train.

    `train`, `val`: per horizon, metrics holding ``macro_f1`` (keys int or str). A horizon with no
    train metrics, or a train macro-F1 of 0, has no gap (None). Keys of the result are strings.
    """
    by_key = {str(h): m for h, m in train.items()}
    gap: dict[str, float | None] = {}
    for h, metrics in val.items():
        t = by_key.get(str(h))
        if t is None or not t[MACRO_F1]:
            gap[str(h)] = None
        else:
            gap[str(h)] = (t[MACRO_F1] - metrics[MACRO_F1]) / t[MACRO_F1]
    return gap


# ----------------------------------------------------------------------------- calibration

_ROW_SUM_TOLERANCE = 1e-4  # float32 softmax rows sum to 1 within ~1e-7; more is not a softmax


def _probabilities(probs: ArrayLike, n: int, *, n_classes: int) -> np.ndarray:
    """`probs` as float64 [n, n_classes] rows of probabilities; ValueError otherwise."""
    p = np.asarray(probs, dtype=np.float64)
    if p.shape != (n, n_classes):
        raise ValueError(f"probs must have shape ({n}, {n_classes}), got {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("probs must be finite and within [0, 1]")
    off = np.flatnonzero(np.abs(p.sum(axis=1) - 1.0) > _ROW_SUM_TOLERANCE)
    if off.size:
        raise ValueError(f"rows of probs must sum to 1; rows {off[:5].tolist()} do not")
    return p


def calibration_metrics(
    y_true: ArrayLike, probs: ArrayLike, *, n_classes: int = 3
) -> dict[str, float]:
    """Log-loss and Brier score of class probabilities [N, n_classes] against true classes [N].

    - ``log_loss``: mean over rows of -ln p(true class), with p clipped to [eps, 1 - eps] (eps of
      float64) so that a certain mistake costs ~36, not infinity: scikit-learn's ``log_loss``.
    - ``brier``: mean over rows of the sum over classes of (p_c - 1[y == c])^2, in [0, 2]
      (Brier, G. W. (1950), "Verification of forecasts expressed in terms of probability",
      Monthly Weather Review 78 (1), 1-3): scikit-learn's multi-class ``brier_score_loss``, and
      the sum over classes of the one-vs-rest Brier scores. Uniform probabilities over 3 classes
      score 2/3 whatever the truth.

    Both are lower-is-better proper scoring rules: unlike accuracy and F1, they reward
    probabilities that mean what they say, which position sizing on the probabilities needs.
    """
    yt = as_class_indices(y_true, n_classes=n_classes, name="y_true")
    if yt.size == 0:
        raise ValueError("calibration_metrics needs at least one row, got none")
    p = _probabilities(probs, yt.size, n_classes=n_classes)
    eps = np.finfo(np.float64).eps
    p_true = np.clip(p[np.arange(yt.size), yt], eps, 1.0 - eps)
    onehot = np.eye(n_classes)[yt]  # [N, C]
    return {
        LOG_LOSS: float(-np.mean(np.log(p_true))),
        BRIER: float(np.mean(np.sum((p - onehot) ** 2, axis=1))),
    }


def _bin_means(sums: np.ndarray, counts: np.ndarray) -> list[float | None]:
    return [float(a / k) if k else None for a, k in zip(sums, counts, strict=True)]


def reliability_bins(
    y_true: ArrayLike, probs: ArrayLike, *, n_bins: int = 10, n_classes: int = 3
) -> dict[str, Any]:
    """What a reliability diagram needs: per class, the rows binned by their predicted
    probability of that class into `n_bins` equal bins of [0, 1]; in each bin, the mean
    predicted probability and the observed frequency of the class.

    A value on an inner edge falls in the lower bin (bins are (lo, hi], the first [0, hi]), as in
    scikit-learn's ``calibration_curve(strategy="uniform")``, whose two arrays are the non-empty
    bins of ``observed`` and ``mean_predicted``. Returns ``{"bin_edges": [n_bins + 1],
    "count": [C][n_bins] int, "mean_predicted": [C][n_bins], "observed": [C][n_bins]}``, lists
    indexed by class then bin, None for an empty bin (JSON-ready).
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    yt = as_class_indices(y_true, n_classes=n_classes, name="y_true")
    p = _probabilities(probs, yt.size, n_classes=n_classes)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    count, mean_predicted, observed = [], [], []
    for c in range(n_classes):
        bins = np.searchsorted(edges[1:-1], p[:, c])  # side="left": an edge value goes below
        total = np.bincount(bins, minlength=n_bins)
        predicted = np.bincount(bins, weights=p[:, c], minlength=n_bins)
        hits = np.bincount(bins, weights=(yt == c).astype(np.float64), minlength=n_bins)
        count.append(total.tolist())
        mean_predicted.append(_bin_means(predicted, total))
        observed.append(_bin_means(hits, total))
    return {
        "bin_edges": edges.tolist(),
        "count": count,
        "mean_predicted": mean_predicted,
        "observed": observed,
    }
