"""Windows/s of batch assembly: ours against a seed-style loader and a plain copy of the bytes.

    python benchmarks/data_pipeline.py [--rows 100000] [--features 50] [--seq-len 128] [--batch 256]

(a) seed-style: the Phase 2 document's torch Dataset (per-row pandas `iloc` slices) + DataLoader;
(b) plain copy: cloning a contiguous [B, L, F] float32 block, the same bytes per batch as a window
    batch: what memory bandwidth allows. Ours is `PreparedData.loader` (one gather per batch).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from harness.data import load_phase1, prepare


def make_dataset(root: Path, *, rows: int, n_features: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    half = rows // 2
    final, splits = root / "data/final", root / "config/splits"
    final.mkdir(parents=True)
    splits.mkdir(parents=True)
    for symbol in ("MES", "MGC"):
        frame = pd.DataFrame(
            rng.normal(size=(half, n_features)).astype(np.float32),
            columns=[f"feature_{k}" for k in range(n_features)],
        )
        frame.insert(0, "timestamp", pd.date_range("2020-01-01", periods=half, freq="5min"))
        frame.insert(1, "symbol", symbol)
        frame.insert(2, "close", 100 + rng.normal(size=half).cumsum() * 0.01)
        for h in (1, 5, 20):
            frame[f"label_{h}"] = rng.integers(-1, 2, half).astype(np.int8)
            frame[f"sample_weight_{h}"] = np.float32(1.0)
        frame.to_parquet(final / f"{symbol}_final_labeled.parquet", index=False)
    train = np.r_[np.arange(0, int(half * 0.8)), half + np.arange(0, int(half * 0.8))]
    val = np.r_[
        np.arange(int(half * 0.8) + 21, half - 1), half + np.arange(int(half * 0.8) + 21, half - 1)
    ]
    np.save(splits / "train_indices.npy", train.astype(np.int64))
    np.save(splits / "val_indices.npy", val.astype(np.int64))
    np.save(splits / "test_indices.npy", np.array([half - 1, rows - 1], dtype=np.int64))
    return root


class SeedStyleDataset(Dataset):
    """The Phase 2 document's NHiTSDataset, as written there (per-row pandas lookups)."""

    def __init__(
        self, df: pd.DataFrame, indices: np.ndarray, seq_len: int, feature_cols: list[str]
    ):
        self.df = df.iloc[indices].reset_index(drop=True)
        self.seq_len = seq_len
        self.feature_cols = feature_cols
        self.valid_indices = list(range(seq_len, len(self.df)))

    def __len__(self) -> int:
        return len(self.valid_indices)

    def __getitem__(self, idx: int) -> dict[str, torch.Tensor]:
        i = self.valid_indices[idx]
        seq = self.df.iloc[i - self.seq_len : i][self.feature_cols].values
        out = {"X": torch.FloatTensor(seq)}
        for h in (1, 5, 20):
            out[f"y_{h}"] = torch.LongTensor([self.df.iloc[i][f"label_{h}"] + 1])[0]
            out[f"w_{h}"] = torch.FloatTensor([self.df.iloc[i][f"sample_weight_{h}"]])[0]
        return out


def rate(make_batches: Callable[[], object], *, batch: int, n_batches: int) -> float:
    """Windows per second over n_batches, after one warm-up batch."""
    it = iter(make_batches())
    next(it)
    start = time.perf_counter()
    for _ in range(n_batches):
        next(it)
    return n_batches * batch / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--features", type=int, default=50)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--batches", type=int, default=500)
    args = p.parse_args()
    torch.manual_seed(0)
    B, L, F = args.batch, args.seq_len, args.features

    with tempfile.TemporaryDirectory() as tmp:
        data = load_phase1(make_dataset(Path(tmp), rows=args.rows, n_features=F))
    prepared = prepare(data, seq_len=L)

    def ours():
        while True:
            yield from prepared.loader("train", batch_size=B, shuffle=True)

    ours_rate = rate(ours, batch=B, n_batches=args.batches)

    seed = SeedStyleDataset(data.frame, data.train, L, list(data.feature_names))
    seed_rate = rate(lambda: DataLoader(seed, batch_size=B, shuffle=True), batch=B, n_batches=3)

    # A source as large as the feature matrix's windows would be, so the copy is not cache-hot.
    source = torch.randn(max(args.rows // L, 4) * L, F)
    blocks = len(source) // L - B

    def plain():
        gen = torch.Generator().manual_seed(0)
        while True:
            k = int(torch.randint(0, blocks, (1,), generator=gen)) * L
            yield source[k : k + B * L].view(B, L, F).clone()

    copy_rate = rate(plain, batch=B, n_batches=args.batches)

    print(f"rows={args.rows} F={F} L={L} B={B} torch threads={torch.get_num_threads()}")
    print("| loader | windows/s | vs seed-style | vs plain copy |")
    print("|---|---:|---:|---:|")
    for name, r in (
        ("seed-style Dataset + DataLoader", seed_rate),
        ("harness `PreparedData.loader`", ours_rate),
        ("plain copy of the same bytes", copy_rate),
    ):
        print(f"| {name} | {r:,.0f} | {r / seed_rate:,.1f}x | {r / copy_rate:.0%} |")


if __name__ == "__main__":
    main()
