"""Tiny datasets written in the Phase 1 layout, built by hand so each test can break one thing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

# Tiny models on tiny batches gain nothing from intra-op threads, and lose much to their start-up
# and spin-waiting (the non-slow suite ran several times faster on one thread, most of all on a
# busy machine).
torch.set_num_threads(1)

HORIZONS = (1, 5)
SEQ_LEN = 16
# The real Configs, shrunk: a forward pass takes milliseconds, an epoch of a few batches well
# under a second. The one shrunk config of the model and training tests. The normalization layers
# are kept: BatchNorm's running statistics are part of what `fit` restores.
TINY: dict[str, dict[str, Any]] = {
    "nhits": {
        "seq_len": SEQ_LEN,
        "pooling": "fine",
        "mlp_units": 16,
        "latent_size": 4,
        "latent_channels": 2,
        "head_hidden": 8,
    },
    "tft": {
        "seq_len": SEQ_LEN,
        "hidden_size": 8,
        "n_heads": 2,
        "lstm_layers": 1,
        "hidden_continuous_size": 2,
    },
    "patchtst": {
        "seq_len": SEQ_LEN,
        "patch_len": 8,
        "stride": 8,
        "d_model": 8,
        "n_heads": 2,
        "n_layers": 1,
        "d_ff": 16,
        "head_hidden": 8,
    },
}


def tiny_frames(n: int = 120, *, n_features: int = 3, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Two symbols of n hourly bars each, random features, labels and weights."""
    rng = np.random.default_rng(seed)
    frames = {}
    for k, symbol in enumerate(("MES", "MGC")):
        close = 100.0 * (k + 1) * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
        frame = pd.DataFrame(
            {
                "timestamp": pd.date_range("2024-01-01", periods=n, freq="h"),
                "symbol": symbol,
                "close": close,
            }
        )
        for f in range(n_features):
            frame[f"feature_{f}"] = rng.normal(size=n)
        for h in HORIZONS:
            frame[f"label_{h}"] = rng.integers(-1, 2, n).astype(np.int8)
            frame[f"sample_weight_{h}"] = rng.uniform(0.5, 1.5, n).astype(np.float32)
        frames[symbol] = frame
    return frames


def tiny_splits(n: int = 120, *, gap: int = 6) -> dict[str, np.ndarray]:
    """Chronological 60/20/20 splits per symbol with `gap` bars between them."""
    train, val, test = [], [], []
    for offset in (0, n):
        a, b = int(n * 0.6), int(n * 0.8)
        train.append(offset + np.arange(0, a - gap))
        val.append(offset + np.arange(a, b - gap))
        test.append(offset + np.arange(b, n))
    return {
        name: np.concatenate(p).astype(np.int64)
        for name, p in zip(("train", "val", "test"), (train, val, test), strict=True)
    }


def write_dataset(
    root: Path, frames: dict[str, pd.DataFrame], splits: dict[str, np.ndarray]
) -> Path:
    final = root / "data" / "final"
    final.mkdir(parents=True, exist_ok=True)
    for symbol, frame in frames.items():
        frame.to_parquet(final / f"{symbol}_final_labeled.parquet", index=False)
    split_dir = root / "config" / "splits"
    split_dir.mkdir(parents=True, exist_ok=True)
    for name, idx in splits.items():
        np.save(split_dir / f"{name}_indices.npy", idx)
    return root


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "tiny", tiny_frames(), tiny_splits())


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generated demo data goes to a per-session temp folder, never the user's cache; trials
    store their predictions where each test's storage says, whatever the user's environment."""
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.delenv("HARNESS_ARTIFACTS", raising=False)
    monkeypatch.delenv("HARNESS_STORAGE", raising=False)
    # An idle machine, whatever else runs beside the tests (the search warns of a loaded one).
    monkeypatch.setattr("os.getloadavg", lambda: (0.0, 0.0, 0.0))
