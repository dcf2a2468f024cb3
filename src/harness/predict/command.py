"""`harness predict`: a results folder and bars in, probability files and their index out.

Files (docs/contracts.md), in `out` (default: ``predict/`` inside the results folder, never
finalize's ``predictions/``):

    {model}_{split}_probs_{h}.npy   float32 [N, 3], columns short / neutral / long; row k belongs
                                    to row k of the index; NaN where the model has no full window
    {split}_index.parquet           position, timestamp, symbol, predicted_{model} (bool) per model

Every file is first written to a temp file beside it; once all are written, each is renamed into
place, the index last. A reader sees an old file or a new one, never half of one, and a run that
fails while writing (a full disk) leaves the old files as they were.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import torch

from harness.data import Bars, data_root, load_dataset, read_bars
from harness.modelfile import layout, same_rows
from harness.modelfile.predictor import PredictError, Prediction, load_predictor
from harness.models import MODELS

SPLITS = ("val", "test", "train", "all")
PREDICTED = "predicted_"  # + model: the index column that says which rows the model predicted


def probs_file(model: str, split: str, horizon: int) -> str:
    return f"{model}_{split}_probs_{horizon}.npy"


def index_file(split: str) -> str:
    return f"{split}_index.parquet"


@dataclass(frozen=True)
class PredictReport:
    out: Path
    split: str
    rows: int  # rows of the index
    missing: dict[str, int]  # model -> rows it could not predict (NaN, predicted_{model} False)
    files: tuple[Path, ...]

    def summary(self) -> str:
        per_model = ", ".join(
            f"{m} {self.rows - k:,}" + (f" ({k:,} without a full window: NaN)" if k else "")
            for m, k in self.missing.items()
        )
        return (
            f"{self.split}: {self.rows:,} rows, predicted by {per_model}; "
            f"{len(self.files)} files in {self.out}"
        )


def write_predictions(
    *,
    results: Path,
    data: Path | None,
    split: str = "val",
    models: Sequence[str] | None = None,
    out: Path | None = None,
    horizons: Sequence[int] | None = None,
    device: torch.device | str | None = None,
    say: Callable[[str], None] = print,
) -> PredictReport:
    """Predict `split` of `data` with the finalized `models` of `results` and write the files.

    `split` is a split of a Phase 1 dataset (val, test, train: the purged train rows training
    used), or ``all``: every row of any folder in the Phase 1 layout, labels and splits optional
    (new bars). `data` None: the current folder, else the demo dataset, as other commands do.
    `models` None: every model finalized in `results`. `horizons` None: each model's own.
    """
    if split not in SPLITS:
        raise PredictError(f"unknown split {split!r}; one of {', '.join(SPLITS)}")
    results = Path(results)
    out = results / "predict" if out is None else Path(out)
    if out.resolve() == (results / layout.PREDICTIONS_DIR).resolve():
        raise PredictError(
            f"--out {out}: that is finalize's {layout.PREDICTIONS_DIR}/ folder, which predict "
            "never writes into (its val files would replace finalize's); choose another folder"
        )
    names = list(dict.fromkeys(models)) if models else _finalized(results)
    # Every model loads before any data is read: a missing model fails in a second, not later.
    predictors = [load_predictor(results, m, device=device) for m in names]

    bars, rows = _read(data, split, say)
    if split == "test":
        say(
            f"Reading the test split ({len(rows):,} rows): its one use is this final evaluation; "
            "choose nothing (models, thresholds, stacks) by what these predictions score."
        )
    predictions = {p.model: p.predict_proba(bars, rows=rows, horizons=horizons) for p in predictors}

    index = _merge_index(out / index_file(split), _index(bars, rows, predictions))
    out.mkdir(parents=True, exist_ok=True)
    writers: dict[Path, Callable[[BinaryIO], None]] = {}
    for model, prediction in predictions.items():
        for h, probs in prediction.probs.items():
            writers[out / probs_file(model, split, h)] = partial(np.save, arr=probs)
    writers[out / index_file(split)] = partial(index.to_parquet, index=False)  # last: names them
    _write_all(writers)
    return PredictReport(
        out=out,
        split=split,
        rows=len(rows),
        missing={m: p.n_missing for m, p in predictions.items()},
        files=tuple(writers),
    )


def _finalized(results: Path) -> list[str]:
    found = [m for m in (*MODELS, layout.REFERENCE) if (results / layout.model_file(m)).is_file()]
    if not found:
        raise PredictError(
            f"{results / layout.MODELS_DIR}: no finalized model; run `harness finalize` first, "
            "or name the folder it wrote with --results"
        )
    return found


def _read(data: Path | None, split: str, say: Callable[[str], None]) -> tuple[Bars, np.ndarray]:
    """The bars and the positions to predict."""
    if split == "all":
        root, _ = data_root(data, say=say)
        bars = read_bars(root)
        return bars, np.arange(len(bars.frame))
    loaded = load_dataset(data, say=say)
    positions = {"val": loaded.val, "test": loaded.test, "train": loaded.train}[split]
    return Bars(loaded.frame, loaded.sources), positions


def _index(bars: Bars, rows: np.ndarray, predictions: dict[str, Prediction]) -> pd.DataFrame:
    frame = bars.frame
    index = pd.DataFrame(
        {
            "position": rows.astype(np.int64),
            "timestamp": frame["timestamp"].iloc[rows].reset_index(drop=True),
            "symbol": frame["symbol"].iloc[rows].astype(str).reset_index(drop=True),
        }
    )
    for model, prediction in predictions.items():
        index[PREDICTED + model] = prediction.predicted
    return index


def _merge_index(path: Path, index: pd.DataFrame) -> pd.DataFrame:
    """Keep the columns of models predicted earlier into `out` when their rows are these rows;
    refuse to leave their files beside an index of other rows."""
    if not path.is_file():
        return index
    try:
        old = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types
        raise PredictError(
            f"{path}: cannot be read ({exc}); remove it or use another --out"
        ) from None
    others = [c for c in old.columns if c.startswith(PREDICTED) and c not in index.columns]
    if not others:
        return index
    if not same_rows(old, index):
        named = ", ".join(c.removeprefix(PREDICTED) for c in others)
        raise PredictError(
            f"{path}: holds predictions of {named} for other rows, whose files would no longer "
            "match this index; predict those models too (--model all), or use another --out"
        )
    merged = index.assign(**{c: old[c].to_numpy(dtype=bool) for c in others})
    rank = {PREDICTED + m: k for k, m in enumerate((*MODELS, layout.REFERENCE))}
    flags = sorted(
        (c for c in merged.columns if c.startswith(PREDICTED)), key=lambda c: rank.get(c, 99)
    )
    return merged[["position", "timestamp", "symbol", *flags]]


def _write_all(writers: dict[Path, Callable[[BinaryIO], None]]) -> None:
    """Write each file to a temp file beside it (same file system), then rename them all into
    place in order: a failure while writing leaves every old file as it was."""
    temps = {path: path.with_name(f".{path.name}.{os.getpid()}.tmp") for path in writers}
    try:
        for path, write in writers.items():
            with temps[path].open("wb") as f:  # made with the umask's permissions
                write(f)
                f.flush()
                os.fsync(f.fileno())
        for path, temp in temps.items():
            os.replace(temp, path)
    finally:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
