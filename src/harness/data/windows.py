"""Windows over the combined frame (docs/contracts.md) and the batches cut from them.

The standardized feature matrix is one contiguous float32 tensor [N, F] on the training device.
A strided view of it, [N - L + 1, L, F], holds every window without copying; a batch is one
gather of B windows from that view. No per-row Python, no pandas in the hot path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
import torch
from sklearn.preprocessing import StandardScaler

from harness.data.calendar import seen_bars_per_year
from harness.data.contract import DataError, Phase1Data
from harness.data.spec import DataSpec
from harness.seeds import mix

WindowEnd = Literal["inclusive", "exclusive"]
Split = Literal["train", "val"]
"""`inclusive` (default): the L rows ending at row i, i included (its features are known at its
close, where the position is taken). `exclusive`: rows i-L..i-1, the Phase 2 document's choice."""


class Batch(NamedTuple):
    """A NamedTuple, so Lightning moves it between devices without copying it first."""

    x: torch.Tensor  # [B, L, F] float32
    y: torch.Tensor  # [B, H] int64 class indices
    w: torch.Tensor  # [B, H] float32 sample weights
    symbol: torch.Tensor  # [B] int64 symbol ids
    rows: torch.Tensor  # [B] int64 positions in the combined frame


@dataclass(frozen=True)
class PreparedData:
    """Everything training and scoring read, built once per study."""

    spec: DataSpec
    seq_len: int
    window_end: WindowEnd
    features: torch.Tensor  # [N, F] float32, standardized with train statistics
    labels: torch.Tensor  # [N, H] int64 class indices (label + 1)
    weights: torch.Tensor  # [N, H] float32
    symbol_ids: torch.Tensor  # [N] int64
    train: torch.Tensor  # positions with a full window, int64
    val: torch.Tensor
    dropped: dict[str, int]  # rows of each split without L rows of history in their symbol
    scaler: StandardScaler
    close: np.ndarray  # [N] float64, for backtests
    timestamps: np.ndarray  # [N] datetime64
    symbols: np.ndarray  # [N] str
    fingerprint: str
    # {symbol: bars per year} from the train and val timestamps only (data.calendar): what
    # annualizes Sharpe in the epoch score and in the exported metrics alike
    bars_per_year: dict[str, float]

    @property
    def device(self) -> torch.device:
        return self.features.device

    def split(self, name: Split) -> torch.Tensor:
        return {"train": self.train, "val": self.val}[name]

    def tail(self, name: Split, n: int | None) -> torch.Tensor:
        """The last `n` rows of a split, shared among its symbols: one recent block each."""
        rows = self.split(name)
        if n is None or n >= len(rows):
            return rows
        ids = self.symbol_ids[rows]
        per_symbol = max(1, n // self.spec.n_symbols)
        blocks = [rows[ids == s][-per_symbol:] for s in range(self.spec.n_symbols)]
        return torch.cat(blocks)

    def batch(self, rows: torch.Tensor) -> Batch:
        return Batch(
            x=cut_windows(self.features, rows, seq_len=self.seq_len, window_end=self.window_end),
            y=self.labels[rows],
            w=self.weights[rows],
            symbol=self.symbol_ids[rows],
            rows=rows,
        )

    def loader(
        self,
        split: Split,
        *,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        max_batches: int | None = None,
    ) -> WindowLoader:
        return WindowLoader(
            self,
            self.split(split),
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            max_batches=max_batches,
        )


class WindowLoader:
    """An iterable of batches that Lightning accepts in place of a DataLoader.

    A DataLoader would collate per-row items in Python; here each batch is one gather. Each pass
    reshuffles with a generator seeded from (seed, pass number), so runs are reproducible.
    """

    def __init__(
        self,
        data: PreparedData,
        rows: torch.Tensor,
        *,
        batch_size: int,
        shuffle: bool,
        seed: int,
        max_batches: int | None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.data = data
        self.rows = rows
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.max_batches = max_batches
        self._passes = 0

    def __len__(self) -> int:
        # Shuffled (training) passes drop a last short batch: BatchNorm cannot train on one row.
        full, rest = divmod(len(self.rows), self.batch_size)
        n = full + (1 if rest and not (self.shuffle and full) else 0)
        return n if self.max_batches is None else min(n, self.max_batches)

    def __iter__(self) -> Iterator[Batch]:
        rows = self.rows
        if self.shuffle:
            gen = torch.Generator().manual_seed(mix(self.seed, self._passes))
            rows = rows[torch.randperm(len(rows), generator=gen).to(rows.device)]
        self._passes += 1
        for k in range(len(self)):
            yield self.data.batch(rows[k * self.batch_size : (k + 1) * self.batch_size])


def prepare(
    data: Phase1Data,
    *,
    seq_len: int,
    window_end: WindowEnd = "inclusive",
    device: torch.device | str = "cpu",
) -> PreparedData:
    """Standardize with train rows only, find the rows with a full window, move it all to device."""
    if seq_len < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len}")
    frame = data.frame
    raw = frame[list(data.feature_names)].to_numpy(dtype=np.float64, na_value=np.nan)
    # sklearn's scaler, because finalize exports it as the seed's scaler.pkl.
    scaler = StandardScaler().fit(raw[data.train])
    scaled = standardize(raw, scaler.mean_, scaler.scale_)  # [N, F]

    sym = frame["symbol"].to_numpy()
    full = full_windows(sym, scaled, seq_len=seq_len, window_end=window_end)
    train, val = data.train[full[data.train]], data.val[full[data.val]]
    # Rows outside train/val may hold anything (they were not validated); they are never targets.
    labels = _columns(frame, [f"label_{h}" for h in data.horizons])  # [N, H]
    weights = _columns(frame, [f"sample_weight_{h}" for h in data.horizons])  # [N, H]
    device = torch.device(device)

    def put(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        return torch.tensor(a, dtype=dtype, device=device)  # a copy: frame arrays may be read-only

    return PreparedData(
        spec=DataSpec(data.feature_names, data.horizons, data.symbols),
        seq_len=seq_len,
        window_end=window_end,
        features=put(scaled, torch.float32),
        labels=put(np.clip(labels, -1, 1) + 1, torch.int64),
        weights=put(weights, torch.float32),
        symbol_ids=put(pd.Categorical(sym, categories=data.symbols).codes, torch.int64),
        train=put(train, torch.int64),
        val=put(val, torch.int64),
        dropped={"train": len(data.train) - len(train), "val": len(data.val) - len(val)},
        scaler=scaler,
        close=frame["close"].to_numpy(np.float64),
        timestamps=frame["timestamp"].to_numpy(),
        symbols=sym,
        fingerprint=data.fingerprint,
        bars_per_year=seen_bars_per_year(data),
    )


def standardize(raw: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(x - mean) / std in float64, as sklearn's transform computes it, then one contiguous
    float32 matrix [N, F]: what every model reads, in training and in prediction alike."""
    return np.ascontiguousarray((raw - mean) / std, dtype=np.float32)


def full_windows(
    symbols: np.ndarray, features: np.ndarray, *, seq_len: int, window_end: WindowEnd
) -> np.ndarray:
    """[N] bool: whether row i has a full window, L rows of its own symbol with finite features.

    A window may not cross a symbol, nor a row whose features are missing (warm-up rows that
    belong to no split, gaps in new bars): both start a new run of usable history. `symbols` [N]
    and `features` [N, F] are the rows in frame order, each symbol's rows one block.
    """
    n = len(symbols)
    finite = np.isfinite(features).all(axis=1)
    breaks = np.r_[True, (symbols[1:] != symbols[:-1]) | ~finite[:-1]]  # row k starts a run
    run_start = np.maximum.accumulate(np.where(breaks, np.arange(n), 0))
    rows = np.arange(n)
    if window_end == "inclusive":  # rows i-L+1..i, row i's own features included
        return (rows - (seq_len - 1) >= run_start) & finite
    return rows - seq_len >= run_start  # rows i-L..i-1: row i's own features are not read


def cut_windows(
    features: torch.Tensor, rows: torch.Tensor, *, seq_len: int, window_end: WindowEnd
) -> torch.Tensor:
    """The windows of `rows` [B] as X [B, L, F]: one gather from a strided view of `features`.

    The view [N - L + 1, L, F] holds every window without copying (window k covers rows
    k..k+L-1); the window of row i starts at i-L+1 (inclusive) or i-L (exclusive), so it never
    reaches past row i. Only rows that ``full_windows`` admits may be asked for.
    """
    n, f = features.shape
    view = features.as_strided((n - seq_len + 1, seq_len, f), (f, f, 1))
    start = rows - seq_len + (1 if window_end == "inclusive" else 0)
    return torch.index_select(view, 0, start)  # [B, L, F]


def _columns(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    values = frame[names].to_numpy(dtype=np.float64, na_value=np.nan)
    return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)


def check_windows(data: Phase1Data, *, seq_len: int, window_end: WindowEnd = "inclusive") -> None:
    """Refuse a window length that leaves the train or val split without one full window.

    Raised before any training, naming the split and, per symbol, its rows in the split and the
    most rows of history one of them has (rows of its symbol, unbroken by missing features)
    against the L needed. A split that keeps some windows is fine: ``prepare`` drops and counts
    the rows without one.
    """
    frame = data.frame
    sym = frame["symbol"].to_numpy()
    raw = frame[list(data.feature_names)].to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(raw).all(axis=1)
    breaks = np.r_[True, (sym[1:] != sym[:-1]) | ~finite[:-1]]  # row k starts a run, as prepare
    run_start = np.maximum.accumulate(np.where(breaks, np.arange(len(frame)), 0))
    own = 1 if window_end == "inclusive" else 0  # an inclusive window holds row i itself
    for split, rows in (("train", data.train), ("val", data.val)):
        history = rows - run_start[rows] + own  # [n] rows a window of each row could hold
        if (history >= seq_len).any():
            continue
        per_symbol = "; ".join(
            f"{s} has {int(mine.sum())} {split} rows with at most {int(history[mine].max())} "
            "rows of history"
            for s in data.symbols
            if (mine := sym[rows] == s).any()
        )
        raise DataError(
            f"the {split} split has no row with a full window of seq_len={seq_len} rows "
            f"({window_end}): {per_symbol}, {seq_len} needed. Use a shorter seq_len, or give "
            f"each symbol more rows before its {split} rows."
        )
