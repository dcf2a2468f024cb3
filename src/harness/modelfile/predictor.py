"""One finalized model turned into a function of bars: windows, scaling and class order as trained.

The rules are not written again here: standardization, which rows have a full window, and the
window cut are ``harness.data``'s functions, the ones ``prepare`` uses for training. The scaler
is the train mean/std stored in the model file (never the pickled ``scaler.pkl``), so
predicting a row reads nothing but the L rows that end at it (or before it, for
``window_end: exclusive``): rows appended later cannot change it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn

from harness.data import (
    N_CLASSES,
    Bars,
    WindowEnd,
    full_windows,
    standardize,
)
from harness.devices import device_for_training
from harness.errors import HarnessError
from harness.modelfile import layout
from harness.modelfile.checkpoint import ModelMeta, load_model
from harness.modelfile.infer import BATCH_SIZE, class_probs
from harness.modelfile.manifest import ManifestError, check_files
from harness.models import MODELS

if TYPE_CHECKING:
    from harness.reference import Reference


class PredictError(HarnessError):
    """A prediction that cannot be made as asked: the message names the model, column or file."""


@dataclass(frozen=True)
class Prediction:
    """Class probabilities of the rows asked for, in the order they were asked for."""

    # horizon -> float32 [N, 3], columns short / neutral / long (labels -1, 0, +1); a row the
    # model cannot predict is NaN in every column
    probs: dict[int, np.ndarray]
    predicted: np.ndarray  # bool [N]: False where the row has no full window of history

    @property
    def n_missing(self) -> int:
        return int(np.count_nonzero(~self.predicted))


class Predictor:
    """A finalized model (or seed ensemble) with what it needs to read new bars.

    ``predict_proba(bars)`` matches features by name (column order and extra columns do not
    matter) and symbols by name; rows with fewer than L rows of usable history in their symbol
    get NaN probabilities and ``predicted`` False, never dropped.
    """

    def __init__(self, net: nn.Module, meta: ModelMeta, *, batch_size: int = BATCH_SIZE) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.net = net.eval()
        self.meta = meta
        self.batch_size = batch_size
        self.window_end: WindowEnd = meta.window_end
        self.uses_symbol = MODELS[meta.model].reads_symbol(meta.run.net)

    @property
    def model(self) -> str:
        return self.meta.model

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def predict_proba(
        self,
        bars: Bars | pd.DataFrame,
        *,
        rows: np.ndarray | None = None,
        horizons: Sequence[int] | None = None,
    ) -> Prediction:
        """Probabilities of `rows` (positions in the frame; default: every row) per horizon.

        `bars` is a frame of the Phase 1 layout (``timestamp``, ``symbol``, the model's feature
        columns; each symbol's rows contiguous and in time order), checked here, or ``Bars``
        already read by ``harness.data.read_bars``. Earlier rows of a symbol serve as history.
        """
        if not isinstance(bars, Bars):
            bars = Bars.from_frame(bars)
        n = len(bars.frame)
        rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
        if rows.ndim != 1 or ((rows < 0) | (rows >= n)).any():
            raise PredictError(f"rows must be positions 0..{n - 1} of the frame, one per row")
        chosen = self._horizons(horizons)
        features = standardize(
            self._raw_features(bars), self.meta.scaler_mean, self.meta.scaler_std
        )
        symbol_ids = self._symbol_ids(bars, rows)
        full = full_windows(
            bars.frame["symbol"].to_numpy(),
            features,
            seq_len=self.meta.seq_len,
            window_end=self.window_end,
        )
        predicted = full[rows]
        probs = {h: np.full((len(rows), N_CLASSES), np.nan, dtype=np.float32) for h in chosen}
        if predicted.any():
            found = class_probs(
                self.net,
                torch.from_numpy(features).to(self.device),
                torch.from_numpy(rows[predicted]),
                seq_len=self.meta.seq_len,
                window_end=self.window_end,
                horizons=chosen,
                symbol_ids=symbol_ids,
                batch_size=self.batch_size,
            )
            for h in chosen:
                probs[h][predicted] = found[h]
        return Prediction(probs=probs, predicted=predicted)

    def _horizons(self, horizons: Sequence[int] | None) -> tuple[int, ...]:
        return _chosen(self.model, self.meta.horizons, horizons)

    def _raw_features(self, bars: Bars) -> np.ndarray:
        """[N, F] float64 in the model's feature order, matched by name."""
        frame, names = bars.frame, list(self.meta.feature_names)
        missing = [c for c in names if c not in frame.columns]
        if missing:
            raise PredictError(
                f"{self.model}: feature column(s) {', '.join(missing)} missing in "
                f"{_files(bars)} (the model reads its {len(names)} features by name)"
            )
        # The model file keeps names, not dtypes; training accepted numeric columns only.
        wrong = [
            f"{c} ({frame[c].dtype})" for c in names if not pd.api.types.is_numeric_dtype(frame[c])
        ]
        if wrong:
            raise PredictError(
                f"{self.model}: feature column(s) {', '.join(wrong)} in {_files(bars)} are not "
                "numeric; the model was trained on numbers"
            )
        return frame[names].to_numpy(dtype=np.float64, na_value=np.nan)

    def _symbol_ids(self, bars: Bars, rows: np.ndarray) -> torch.Tensor | None:
        """Ids in the model's symbol order, for a model that reads them; None for one that
        does not, so it predicts symbols it never saw."""
        if not self.uses_symbol:
            return None
        symbols = bars.frame["symbol"]
        codes = pd.Categorical(symbols, categories=self.meta.symbols).codes.astype(np.int64)
        unknown = sorted(set(symbols.to_numpy()[rows][codes[rows] < 0]))
        if unknown:
            raise PredictError(
                f"{self.model}: symbol(s) {', '.join(unknown)} in {_files(bars)} never seen in "
                f"training; the model reads the symbol and knows {', '.join(self.meta.symbols)}"
            )
        return torch.from_numpy(codes).to(self.device)


def _chosen(model: str, known: tuple[int, ...], horizons: Sequence[int] | None) -> tuple[int, ...]:
    """The horizons asked for (default: all the model predicts), each one it predicts."""
    if horizons is None:
        return known
    lacking = [h for h in horizons if h not in known]
    if lacking:
        raise PredictError(
            f"{model}: no {', '.join(map(str, lacking))}-bar horizon (it predicts "
            f"{', '.join(map(str, known))})"
        )
    return tuple(dict.fromkeys(int(h) for h in horizons))


def _files(bars: Bars) -> str:
    return ", ".join(name for name, _ in bars.sources)


def files_read(model: str) -> tuple[str, ...]:
    """The files of `model`'s set a Predictor reads, relative to the results folder: the model
    file alone (weights, config and the train mean/std; never ``scaler.pkl``)."""
    return (layout.model_file(model),)


class ReferencePredictor:
    """The exported reference (``harness.reference``) with a Predictor's ``predict_proba``:
    features matched by name, NaN and ``predicted`` False where a row lacks the reference's
    `lags` rows of history in its symbol."""

    model = layout.REFERENCE

    def __init__(self, reference: Reference) -> None:
        self.reference = reference

    def predict_proba(
        self,
        bars: Bars | pd.DataFrame,
        *,
        rows: np.ndarray | None = None,
        horizons: Sequence[int] | None = None,
    ) -> Prediction:
        if not isinstance(bars, Bars):
            bars = Bars.from_frame(bars)
        frame, names = bars.frame, self.reference.feature_names
        missing = [c for c in names if c not in frame.columns]
        if missing:
            raise PredictError(
                f"reference: feature column(s) {', '.join(missing)} missing in {_files(bars)}"
            )
        n = len(frame)
        rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
        chosen = _chosen(self.model, self.reference.horizons, horizons)
        probs = self.reference.predict_proba(frame, rows)
        predicted = np.isfinite(probs[chosen[0]]).all(axis=1)
        return Prediction(probs={h: probs[h] for h in chosen}, predicted=predicted)


def load_predictor(
    results: Path | str,
    model: str,
    *,
    device: torch.device | str | None = None,
    batch_size: int = BATCH_SIZE,
) -> Predictor | ReferencePredictor:
    """The model `finalize` exported to `results/models/{model}_final.pth`, in eval mode on
    `device` (default: the GPU when there is one). Loads with ``weights_only=True``, once the
    files it reads (``files_read``) match the size and SHA-256 that finalize recorded in
    ``models/{model}_manifest.json``: a missing manifest, or a file it does not list or that
    differs, is a PredictError naming the file."""
    if model not in (*MODELS, layout.REFERENCE):
        raise PredictError(f"unknown model {model!r}; known: {', '.join(MODELS)}, reference")
    path = Path(results) / layout.model_file(model)
    if not path.is_file():
        raise PredictError(
            f"{path}: no finalized {model} model; run `harness finalize` first, or name the "
            "folder it wrote with --results"
        )
    try:
        check_files(results, model, files_read(model))
    except ManifestError as exc:
        raise PredictError(str(exc)) from None
    if model == layout.REFERENCE:
        from harness.reference import ReferenceFileError, load_reference

        try:
            return ReferencePredictor(load_reference(path))
        except ReferenceFileError as exc:
            raise PredictError(str(exc)) from None
    net, meta = load_model(path, device=device_for_training() if device is None else device)
    if meta.model != model:
        raise PredictError(f"{path}: holds a {meta.model!r} model, not {model!r}")
    return Predictor(net, meta, batch_size=batch_size)
