"""`harness verify-results`: check a results folder as Phase 3 reads it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler
from torch import nn

from harness.constants import FORMAT_VERSION
from harness.data import Phase1Data, prepare
from harness.finalize.report import interpretable
from harness.modelfile import (
    CheckpointError,
    ModelMeta,
    file_record,
    layout,
    load_model,
    split_probs,
    val_index,
)
from harness.models import MODELS
from harness.staging import pending

ATOL = 1e-4


def verify_results(
    out: Path, data: Phase1Data, *, models: Sequence[str] | None = None
) -> list[str]:
    """Every problem with `out` as one line naming the file; an empty list means it is sound.

    `models`: the models to check (default: every model with a file in `out`; none is a problem).
    For each and each horizon of `data`: every file of the layout is there, the JSON files
    parse, every file matches the size and SHA-256 its manifest records (a changed file, a
    replaced scaler.pkl say, is named; nothing is unpickled); the probability file is float32
    [N_val, 3], finite, rows summing to 1, aligned with predictions/val_index.parquet and with
    the data's validation split; the model file loads with weights_only=True, matches the data
    and its scaler JSON, and reproduces the probabilities when rebuilt and run on the
    validation windows.
    """
    out = Path(out)
    problems = [
        f"{p}: an unfinished export (finalize was stopped, or is running); "
        "the next finalize into this folder completes or removes it"
        for p in pending(out)
    ]
    if models is None:
        models = [m for m in (*MODELS, layout.REFERENCE) if _has_files(out, m)]
        if not models:
            return [*problems, f"{out}: no model exported here (finalize writes one)"]
    problems += _check_index(out, data)
    changed: dict[str, list[str]] = {}  # file -> the manifests it no longer matches
    n_val = len(data.val)
    for model in models:
        saved: dict[int, np.ndarray] = {}
        for h in data.horizons:
            path = layout.resolve(out, layout.val_probs(model, h))
            probs, issues = _check_probs(path, n_val)
            problems += issues
            if probs is not None:
                saved[h] = probs
        model_problems, net = _check_model(out, model, data, saved)
        problems += model_problems
        files = layout.model_files(
            model, data.horizons, interpretable=net is not None and interpretable(net)
        )
        for relative in files:
            path = layout.resolve(out, relative)
            if not path.is_file() and relative not in (layout.model_file(model), layout.VAL_INDEX):
                if not relative.endswith(".npy"):  # both named above already
                    problems.append(f"{path}: missing")
            elif relative.endswith(".json"):
                problems += _check_json(path)
        problems += _check_manifest(out, model, files, changed)
        if model != layout.REFERENCE:  # the reference keeps its scaler inside its JSON
            problems += _check_scaler_json(out, model, data)
    problems += [
        f"{layout.resolve(out, relative)}: changed since export (size or SHA-256 differ from "
        f"{', '.join(manifests)})"
        for relative, manifests in changed.items()
    ]
    if models and not layout.resolve(out, layout.COMPARISON).is_file():
        problems.append(f"{layout.resolve(out, layout.COMPARISON)}: missing")
    return problems


def _has_files(out: Path, model: str) -> bool:
    return any(
        layout.resolve(out, f).exists()
        for f in (layout.manifest(model), layout.model_file(model), layout.metrics(model))
    )


def _check_json(path: Path) -> list[str]:
    try:
        json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        return [f"{path}: not valid JSON ({exc})"]
    return []


def _check_manifest(
    out: Path, model: str, files: list[str], changed: dict[str, list[str]]
) -> list[str]:
    """The model's files against its manifest; changed files are gathered in `changed`."""
    path = layout.resolve(out, layout.manifest(model))
    if not path.is_file():
        return [f"{path}: missing (exported by an older harness? finalize it again)"]
    try:
        manifest = json.loads(path.read_text())
        records = dict(manifest["files"])
        version = manifest["format_version"]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
        return [f"{path}: not a manifest ({type(exc).__name__}: {exc})"]
    problems = []
    if version != FORMAT_VERSION:
        problems.append(
            f"{path}: format {version}, this harness reads format {FORMAT_VERSION}; "
            "finalize it again"
        )
    unlisted = [f for f in files if f not in records]
    if unlisted:
        problems.append(f"{path}: does not list {', '.join(unlisted)}")
    for relative, record in records.items():
        target = layout.resolve(out, relative)
        if not target.is_file():
            if relative not in files:  # a file of the layout is reported missing already
                problems.append(f"{target}: missing (listed in {path.name})")
            continue
        if not isinstance(record, dict) or file_record(target) != {
            "size": record.get("size"),
            "sha256": record.get("sha256"),
        }:
            changed.setdefault(relative, []).append(path.name)
    return problems


def _check_scaler_json(out: Path, model: str, data: Phase1Data) -> list[str]:
    """The pickle-free scaler: the data's feature names and its train rows' mean and std."""
    path = layout.resolve(out, layout.scaler_json(model))
    try:
        raw = json.loads(path.read_text())
        names = list(raw["feature_names"])
        mean = np.asarray(raw["mean"], dtype=np.float64)
        scale = np.asarray(raw["scale"], dtype=np.float64)
    except (OSError, ValueError, UnicodeDecodeError, KeyError, TypeError):
        return []  # missing or unreadable: named above
    if names != list(data.feature_names):
        return [f"{path}: feature names differ from the data's"]
    prepared_scaler = _train_scaler(data)
    if not (
        mean.shape == scale.shape == prepared_scaler[0].shape
        and np.allclose(mean, prepared_scaler[0])
        and np.allclose(scale, prepared_scaler[1])
    ):
        return [f"{path}: mean/scale differ from those of the data's train rows"]
    return []


def _train_scaler(data: Phase1Data) -> tuple[np.ndarray, np.ndarray]:
    raw = data.frame[list(data.feature_names)].to_numpy(dtype=np.float64, na_value=np.nan)
    scaler = StandardScaler().fit(raw[data.train])
    return np.asarray(scaler.mean_), np.asarray(scaler.scale_)


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
) -> tuple[list[str], nn.Module | None]:
    """The model file's problems, and the model when it loads (None for the reference)."""
    path = layout.resolve(out, layout.model_file(model))
    if not path.is_file():
        return [f"{path}: missing"], None
    if model == layout.REFERENCE:
        return _check_reference(out, data, saved), None
    try:
        net, meta = load_model(path)
    except CheckpointError as exc:
        return [str(exc)], None
    return _check_loaded(out, model, net, meta, data, saved), net


def _check_loaded(
    out: Path,
    model: str,
    net: nn.Module,
    meta: ModelMeta,
    data: Phase1Data,
    saved: dict[int, np.ndarray],
) -> list[str]:
    path = layout.resolve(out, layout.checkpoint(model))
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
    rows, probs = split_probs(net, prepared, "val")
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


def _check_reference(out: Path, data: Phase1Data, saved: dict[int, np.ndarray]) -> list[str]:
    """The reference's JSON: it loads, was fit on this data's train rows, and reproduces the
    exported probabilities on the validation rows."""
    from harness.reference import ReferenceFileError, fit_scaler, load_reference

    path = layout.resolve(out, layout.model_file(layout.REFERENCE))
    try:
        ref = load_reference(path)
    except ReferenceFileError as exc:
        return [str(exc)]
    if tuple(ref.feature_names) != tuple(data.feature_names):
        return [f"{path}: feature names differ from the data's"]
    mean, scale = fit_scaler(data)
    if not (np.allclose(ref.mean, mean) and np.allclose(ref.scale, scale)):
        return [f"{path}: mean/scale differ from those of the data's train rows"]
    probs = ref.predict_proba(data, data.val)
    problems = []
    for h, expected in saved.items():
        diff = float(np.max(np.abs(probs[h] - expected))) if h in probs else np.inf
        if not diff <= ATOL:
            problems.append(
                f"{layout.resolve(out, layout.val_probs(layout.REFERENCE, h))}: the "
                f"model in {path.name} does not reproduce it (max difference {diff:.2e} > {ATOL:g})"
            )
    return problems
