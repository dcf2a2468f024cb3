"""What `harness check-data` reports about a valid dataset: plain data, rendered by the CLI."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.data.calendar import seen_bars_per_year
from harness.data.contract import Phase1Data


@dataclass(frozen=True)
class SymbolSummary:
    symbol: str
    rows: int
    first: str
    last: str
    split_rows: dict[str, int]
    bars_train_to_val: int | None  # bars strictly between the last train row and the first val row
    bars_val_to_test: int | None
    # Per split: places where consecutive rows of the split (in frame order) are not consecutive
    # frame rows, and the frame rows skipped there in all. A backtest given the rows' positions
    # starts a new segment at each hole (no return is booked across it).
    holes: dict[str, int]
    skipped_rows: dict[str, int]
    # From the symbol's train and val timestamps only (data.calendar): what annualizes its Sharpe
    # ratios in training and in the exported metrics. None for a symbol of the test split alone.
    bars_per_year: float | None


@dataclass(frozen=True)
class DataSummary:
    root: str
    n_rows: int
    n_features: int
    horizons: tuple[int, ...]
    n_purged: int
    symbols: list[SymbolSummary]
    # horizon -> split -> fraction of rows labelled -1, 0, +1 (train and val only: test is unread)
    label_shares: dict[int, dict[str, tuple[float, float, float]]]


def summarize(data: Phase1Data) -> DataSummary:
    frame = data.frame
    sym = frame["symbol"].to_numpy()
    ts = frame["timestamp"]
    splits = {"train": data.train, "val": data.val, "test": data.test}
    per_symbol = []
    rates = seen_bars_per_year(data)
    for s in data.symbols:
        mine = {name: idx[sym[idx] == s] for name, idx in splits.items()}
        rows = np.flatnonzero(sym == s)
        per_symbol.append(
            SymbolSummary(
                symbol=s,
                rows=len(rows),
                first=str(ts.iloc[rows[0]]),
                last=str(ts.iloc[rows[-1]]),
                split_rows={name: len(idx) for name, idx in mine.items()},
                bars_train_to_val=_gap(mine["train"], mine["val"]),
                bars_val_to_test=_gap(mine["val"], mine["test"]),
                holes={name: _holes(idx)[0] for name, idx in mine.items()},
                skipped_rows={name: _holes(idx)[1] for name, idx in mine.items()},
                bars_per_year=rates.get(s),
            )
        )
    shares = {}
    for h in data.horizons:
        labels = frame[f"label_{h}"].to_numpy()
        shares[h] = {
            name: _shares(labels[idx]) for name, idx in (("train", data.train), ("val", data.val))
        }
    return DataSummary(
        root=str(data.root),
        n_rows=len(frame),
        n_features=len(data.feature_names),
        horizons=data.horizons,
        n_purged=data.n_purged,
        symbols=per_symbol,
        label_shares=shares,
    )


def _shares(labels: np.ndarray) -> tuple[float, float, float]:
    """Share of each label: -1 (down), 0 (flat), 1 (up)."""
    down, flat, up = (float(np.mean(labels == c)) for c in (-1, 0, 1))
    return down, flat, up


def _gap(before: np.ndarray, after: np.ndarray) -> int | None:
    if len(before) == 0 or len(after) == 0:
        return None
    return int(after.min() - before.max() - 1)


def _holes(positions: np.ndarray) -> tuple[int, int]:
    """(holes, rows skipped) in the frame positions of one symbol's rows of a split."""
    step = np.diff(np.sort(positions))
    return int(np.sum(step != 1)), int(np.sum(step[step > 1] - 1))
