"""Classification metrics from one confusion matrix (numpy only: this runs every epoch).

The values equal scikit-learn's ``accuracy_score``, ``f1_score(average="macro",
labels=range(n_classes), zero_division=0)``, ``precision_recall_fscore_support(...,
zero_division=0)`` and ``confusion_matrix(labels=range(n_classes))``; a test says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from harness.metrics._names import (
    ACCURACY,
    CONFUSION,
    F1,
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
