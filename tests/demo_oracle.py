"""How learnable the demo's planted signal is: a logistic regression on the planted feature
alone (the oracle) and always the train majority class, scored on val. What the tests hold the
demo and the models to; the harness itself never needs them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.demo import DEMO_PLANTED_FEATURE, HORIZONS


def read_demo(out: Path) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The combined frame (symbol files in sorted order) and the splits of a demo directory."""
    out = Path(out)
    files = sorted((out / "data" / "final").glob("*_final_labeled.parquet"))
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    splits = {
        k: np.load(out / "config" / "splits" / f"{k}_indices.npy") for k in ("train", "val", "test")
    }
    return frame, splits


def _resolve(
    data: Path | pd.DataFrame, splits: Mapping[str, np.ndarray] | None
) -> tuple[pd.DataFrame, Mapping[str, np.ndarray]]:
    if isinstance(data, pd.DataFrame):
        if splits is None:
            raise ValueError("splits are required when data is a frame")
        return data, splits
    frame, file_splits = read_demo(Path(data))
    return frame, (file_splits if splits is None else splits)


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, labels=[-1, 0, 1], average="macro", zero_division=0))


def oracle_predictions(
    data: Path | pd.DataFrame,
    splits: Mapping[str, np.ndarray] | None = None,
    *,
    feature: str = DEMO_PLANTED_FEATURE,
    horizons: Sequence[int] = HORIZONS,
) -> dict[int, np.ndarray]:
    """Predicted labels (-1, 0, 1) of the val rows, in split order, per horizon, of a logistic
    regression on one feature: multinomial, class-balanced, fit on the train rows. ``data`` is a
    demo directory or the combined frame (then ``splits`` are required)."""
    from sklearn.linear_model import LogisticRegression

    frame, sp = _resolve(data, splits)
    tr, va = np.asarray(sp["train"]), np.asarray(sp["val"])
    x = frame[feature].to_numpy(dtype=np.float64).reshape(-1, 1)
    predicted: dict[int, np.ndarray] = {}
    for h in horizons:
        y = frame[f"label_{h}"].to_numpy()
        model = LogisticRegression(class_weight="balanced", max_iter=1000)
        model.fit(x[tr], y[tr])
        predicted[h] = model.predict(x[va])
    return predicted


def oracle_macro_f1(
    data: Path | pd.DataFrame,
    splits: Mapping[str, np.ndarray] | None = None,
    *,
    feature: str = DEMO_PLANTED_FEATURE,
    horizons: Sequence[int] = HORIZONS,
) -> dict[int, float]:
    """Val macro-F1 (3 classes) per horizon of ``oracle_predictions``."""
    frame, sp = _resolve(data, splits)
    va = np.asarray(sp["val"])
    predicted = oracle_predictions(frame, sp, feature=feature, horizons=horizons)
    return {h: _macro_f1(frame[f"label_{h}"].to_numpy()[va], predicted[h]) for h in horizons}


def majority_macro_f1(
    data: Path | pd.DataFrame,
    splits: Mapping[str, np.ndarray] | None = None,
    *,
    horizons: Sequence[int] = HORIZONS,
) -> dict[int, float]:
    """Val macro-F1 (3 classes) per horizon of always predicting the train majority class."""
    frame, sp = _resolve(data, splits)
    tr, va = np.asarray(sp["train"]), np.asarray(sp["val"])
    scores: dict[int, float] = {}
    for h in horizons:
        y = frame[f"label_{h}"].to_numpy()
        values, counts = np.unique(y[tr], return_counts=True)
        majority = values[np.argmax(counts)]
        scores[h] = _macro_f1(y[va], np.full(va.size, majority))
    return scores
