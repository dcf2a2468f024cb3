"""`harness verify-results`: check a results folder as Phase 3 reads it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data import Phase1Data, prepare
from harness.finalize import layout
from harness.finalize.checkpoint import CheckpointError, load_model
from harness.finalize.export import val_index
from harness.finalize.staging import pending
from harness.models import MODELS
from harness.training import predict_proba

ATOL = 1e-4


def verify_results(
    out: Path, data: Phase1Data, *, models: Sequence[str] | None = None
) -> list[str]:
    """Every problem with `out` as one line naming the file; an empty list means it is sound.

    For each model (default: all three) and horizon of `data`: the probability file is there,
    float32 [N_val, 3], finite, rows summing to 1, aligned with predictions/val_index.parquet and
    with the data's validation split; the model file loads with weights_only=True, matches the
    data, and reproduces the probabilities when rebuilt and run on the validation windows.
    """
    out = Path(out)
    problems = [
        f"{p}: an unfinished export (finalize was stopped, or is running); "
        "the next finalize into this folder completes or removes it"
        for p in pending(out)
    ]
    problems += _check_index(out, data)
    n_val = len(data.val)
    for model in models or list(MODELS):
        saved: dict[int, np.ndarray] = {}
        for h in data.horizons:
            path = layout.resolve(out, layout.val_probs(model, h))
            probs, issues = _check_probs(path, n_val)
            problems += issues
            if probs is not None:
                saved[h] = probs
        for relative in (layout.scaler(model), layout.metrics(model)):
            if not layout.resolve(out, relative).is_file():
                problems.append(f"{layout.resolve(out, relative)}: missing")
        problems += _check_model(out, model, data, saved)
    return problems


def _check_index(out: Path, data: Phase1Data) -> list[str]:
    path = layout.resolve(out, layout.VAL_INDEX)
    if not path.is_file():
        return [f"{path}: missing"]
    try:
        index = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types
        return [f"{path}: cannot be read ({exc})"]
    expected = val_index(data)
    missing = [c for c in expected.columns if c not in index.columns]
    if missing:
        return [f"{path}: column(s) {', '.join(missing)} missing"]
    if len(index) != len(expected):
        return [f"{path}: {len(index)} rows, the data's validation split has {len(expected)}"]
    problems = []
    pos = index["position"].to_numpy()
    bad = np.flatnonzero(pos != expected["position"].to_numpy())
    if len(bad):
        problems.append(
            f"{path}: positions differ from the data's validation indices at {len(bad)} rows "
            f"(first at row {bad[0]}: {pos[bad[0]]} vs {expected['position'].iat[bad[0]]})"
        )
    stamps = pd.DatetimeIndex(index["timestamp"])
    bad = np.flatnonzero(stamps != pd.DatetimeIndex(expected["timestamp"]))
    if len(bad):
        problems.append(f"{path}: timestamps differ from the data at {len(bad)} rows")
    bad = np.flatnonzero(index["symbol"].astype(str).to_numpy() != expected["symbol"].to_numpy())
    if len(bad):
        problems.append(f"{path}: symbols differ from the data at {len(bad)} rows")
    return problems


def _check_probs(path: Path, n_val: int) -> tuple[np.ndarray | None, list[str]]:
    if not path.is_file():
        return None, [f"{path}: missing"]
    try:
        probs = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError, OSError, EOFError...
        return None, [f"{path}: cannot be read as .npy ({exc})"]
    if probs.dtype != np.float32:
        return None, [f"{path}: dtype {probs.dtype}, expected float32"]
    if probs.shape != (n_val, 3):
        return None, [f"{path}: shape {probs.shape}, expected ({n_val}, 3) (N_val, classes)"]
    problems = []
    bad = np.flatnonzero(~np.isfinite(probs).all(axis=1))
    if len(bad):
        problems.append(f"{path}: {len(bad)} rows hold NaN or inf (first: row {bad[0]})")
    bad = np.flatnonzero((probs < 0).any(axis=1) | (probs > 1).any(axis=1))
    if len(bad):
        problems.append(f"{path}: {len(bad)} rows hold values outside [0, 1] (row {bad[0]})")
    sums = probs.astype(np.float64).sum(axis=1)
    bad = np.flatnonzero(~np.isclose(sums, 1.0, rtol=0.0, atol=ATOL))
    if len(bad):
        problems.append(
            f"{path}: {len(bad)} rows do not sum to 1 (row {bad[0]} sums to {sums[bad[0]]:.6f})"
        )
    return (probs if not problems else None), problems


def _check_model(
    out: Path, model: str, data: Phase1Data, saved: dict[int, np.ndarray]
) -> list[str]:
    path = layout.resolve(out, layout.checkpoint(model))
    if not path.is_file():
        return [f"{path}: missing"]
    try:
        net, meta = load_model(path)
    except CheckpointError as exc:
        return [str(exc)]
    problems = []
    if meta.model != model:
        problems.append(f"{path}: holds a {meta.model!r} model, not {model!r}")
    if meta.data_fingerprint != data.fingerprint:
        problems.append(
            f"{path}: trained on another dataset (fingerprint {meta.data_fingerprint}, "
            f"this data {data.fingerprint})"
        )
    for name, got, want in (
        ("feature names", meta.feature_names, data.feature_names),
        ("horizons", meta.horizons, data.horizons),
        ("symbols", meta.symbols, data.symbols),
    ):
        if tuple(got) != tuple(want):
            problems.append(f"{path}: {name} {list(got)} differ from the data's {list(want)}")
    if problems:
        return problems
    prepared = prepare(data, seq_len=meta.seq_len, window_end=meta.window_end)
    if not (
        np.allclose(meta.scaler_mean, prepared.scaler.mean_)
        and np.allclose(meta.scaler_std, prepared.scaler.scale_)
    ):
        problems.append(f"{path}: scaler mean/std differ from those of the data's train rows")
    if len(prepared.val) != len(data.val):
        return [
            *problems,
            f"{path}: seq_len {meta.seq_len} leaves {len(data.val) - len(prepared.val)} "
            "validation rows without a full window",
        ]
    rows, probs = predict_proba(net, prepared, "val")
    if not np.array_equal(rows, data.val):
        problems.append(f"{path}: predicted rows are not the validation rows in order")
        return problems
    for h, expected in saved.items():
        diff = float(np.max(np.abs(probs[h] - expected)))
        if diff > ATOL:
            problems.append(
                f"{layout.resolve(out, layout.val_probs(model, h))}: the model in {path.name} "
                f"does not reproduce it (max difference {diff:.2e} > {ATOL:g})"
            )
    return problems
