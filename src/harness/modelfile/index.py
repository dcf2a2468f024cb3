"""``predictions/{split}_index.parquet``: which frame row each row of a probability file is."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.data import Phase1Data


def val_index(data: Phase1Data) -> pd.DataFrame:
    """One row per prediction row: position in the combined frame, timestamp, symbol."""
    rows = data.val
    return pd.DataFrame(
        {
            "position": rows.astype(np.int64),
            "timestamp": data.frame["timestamp"].iloc[rows].to_numpy(),
            "symbol": data.frame["symbol"].iloc[rows].astype(str).to_numpy(),
        }
    )


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Two index frames name the same rows: position, timestamp and symbol, in order."""
    keys = {"position", "timestamp", "symbol"}
    if len(a) != len(b) or not keys <= set(a.columns) or not keys <= set(b.columns):
        return False
    return bool(
        (a["position"].to_numpy() == b["position"].to_numpy()).all()
        and (a["symbol"].astype(str).to_numpy() == b["symbol"].astype(str).to_numpy()).all()
        and (pd.DatetimeIndex(a["timestamp"]) == pd.DatetimeIndex(b["timestamp"])).all()
    )
