"""The reference models' inputs: each row's standardized features and those of its previous
`lags` rows of the same symbol, one flat row of (lags + 1) * F values.

The scaler is the one ``harness.data.prepare`` fits (sklearn's StandardScaler on the train rows,
applied with ``harness.data.standardize``), and the rows with a full history are those
``harness.data.full_windows`` admits for a window of lags + 1 rows ending at the row: history
never crosses a symbol, nor a row whose features are not finite. A deep model with seq_len =
lags + 1 sees exactly these values, as a [L, F] window instead of one flat row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from harness.data import DataError, Phase1Data, full_windows, standardize


def lag_names(feature_names: Sequence[str], lags: int) -> tuple[str, ...]:
    """The names of the flat inputs, oldest row first (a window's order): ``{name}_lag{j}``,
    j rows before the row (``_lag0``: the row itself)."""
    return tuple(f"{name}_lag{j}" for j in range(lags, -1, -1) for name in feature_names)


def fit_scaler(data: Phase1Data) -> tuple[np.ndarray, np.ndarray]:
    """(mean, scale) [F] of the train rows' features, as ``harness.data.prepare`` fits them."""
    raw = data.frame[list(data.feature_names)].to_numpy(dtype=np.float64, na_value=np.nan)
    scaler = StandardScaler().fit(raw[data.train])
    return np.asarray(scaler.mean_, np.float64), np.asarray(scaler.scale_, np.float64)


def lagged_features(
    frame: pd.DataFrame,
    feature_names: Sequence[str],
    mean: np.ndarray,
    scale: np.ndarray,
    *,
    lags: int,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(X, has): X float32 [N, (lags + 1) * F], columns as ``lag_names``, of `rows` (positions
    in `frame`; default every row), NaN where a row has no full history; has bool [N].

    `frame` holds a ``symbol`` column and the feature columns, each symbol's rows one block in
    time order (the Phase 1 layout).
    """
    if lags < 0:
        raise ValueError(f"lags must be >= 0, got {lags}")
    missing = [c for c in ("symbol", *feature_names) if c not in frame.columns]
    if missing:
        raise DataError(f"the frame lacks the column(s) {', '.join(missing)}")
    raw = frame[list(feature_names)].to_numpy(dtype=np.float64, na_value=np.nan)
    scaled = standardize(raw, mean, scale)  # [n, F] float32
    symbols = frame["symbol"].astype(str).to_numpy()
    full = full_windows(symbols, scaled, seq_len=lags + 1, window_end="inclusive")
    rows = np.arange(len(frame)) if rows is None else np.asarray(rows, dtype=np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= len(frame)):
        raise DataError(f"rows must be positions 0..{len(frame) - 1} of the frame")
    has = full[rows]
    out = np.full((len(rows), (lags + 1) * len(feature_names)), np.nan, dtype=np.float32)
    kept = rows[has]
    # full_windows admits row i only where rows i-lags..i are its symbol's, all finite
    out[has] = np.concatenate([scaled[kept - j] for j in range(lags, -1, -1)], axis=1)
    return out, has
