"""The exported model file, ``models/{model}_final.pth``, and the model rebuilt from it.

The file is one dict of tensors, lists and scalars, so ``torch.load(path, weights_only=True)``
reads it: no pickled objects. Keys:

    format              "harness-final-v6" (v5, which also held seq_len and window_end at the
                        top level, copies of the config's, is still read)
    model               "nhits" | "tft" | "patchtst"
    config              the flat RunConfig of the trial (model and training settings; the
                        window: seq_len and window_end)
    state_dict          the weights (of the first member when several seeds were trained)
    extra_state_dicts   the weights of members 2..K of a K-seed ensemble ([] for K = 1); the
                        exported probabilities are the mean of the members' probabilities
    seeds               the training seed of each member
    feature_names, horizons, symbols
    classes             [-1, 0, 1]: the label of probability column 0, 1, 2
    scaler_mean, scaler_std   float64 [F]: x_std = (x - mean) / std, from the train rows
    data_fingerprint, study, trial

A reader that only knows ``state_dict`` gets a working single model; ``load_model`` rebuilds the
whole ensemble.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from harness.config import RunConfig
from harness.data import DataSpec, PreparedData, WindowEnd
from harness.errors import HarnessError
from harness.models import MODELS

FORMAT = "harness-final-v6"
READS = ("harness-final-v5", FORMAT)  # v5 repeated the window at the top level
CLASSES = (-1, 0, 1)


class CheckpointError(HarnessError):
    """A model file that cannot be read or rebuilt."""


class EnsembleNet(nn.Module):
    """Members with the same inputs; outputs log of the mean class probabilities per horizon.

    softmax(log(mean_k p_k)) = mean_k p_k, so ``predict_proba`` (a softmax over the outputs)
    gives the ensemble's probabilities without knowing it holds an ensemble.
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: Tensor, symbol: Tensor) -> dict[str, Tensor]:
        outputs = [m(x, symbol) for m in self.members]
        mean = {
            key: torch.stack([torch.softmax(o[key].float(), -1) for o in outputs]).mean(0)
            for key in outputs[0]
        }  # each [B, 3]
        return {key: torch.log(p) for key, p in mean.items()}


def members(net: nn.Module) -> list[nn.Module]:
    return list(net.members) if isinstance(net, EnsembleNet) else [net]


@dataclass(frozen=True)
class ModelMeta:
    """Everything in a model file but the weights."""

    model: str
    run: RunConfig
    seeds: tuple[int, ...]
    feature_names: tuple[str, ...]
    horizons: tuple[int, ...]
    symbols: tuple[str, ...]
    scaler_mean: np.ndarray  # float64 [F]
    scaler_std: np.ndarray  # float64 [F]
    data_fingerprint: str
    study: str
    trial: int

    @property
    def seq_len(self) -> int:
        return self.run.seq_len

    @property
    def window_end(self) -> WindowEnd:
        return self.run.train.window_end

    @property
    def spec(self) -> DataSpec:
        return DataSpec(self.feature_names, self.horizons, self.symbols)


def save_checkpoint(
    path: Path,
    net: nn.Module,
    *,
    run: RunConfig,
    seeds: Sequence[int],
    data: PreparedData,
    study: str,
    trial: int,
) -> None:
    if (data.seq_len, data.window_end) != (run.seq_len, run.train.window_end):
        raise ValueError("the data were windowed otherwise than the config says")
    states = [_cpu_state(m) for m in members(net)]
    scaler = data.scaler
    torch.save(
        {
            "format": FORMAT,
            "model": run.model,
            "config": run.to_flat(),
            "state_dict": states[0],
            "extra_state_dicts": states[1:],
            "seeds": [int(s) for s in seeds],
            "feature_names": list(data.spec.feature_names),
            "horizons": list(data.spec.horizons),
            "symbols": list(data.spec.symbols),
            "classes": list(CLASSES),
            "scaler_mean": torch.as_tensor(np.asarray(scaler.mean_, dtype=np.float64)),
            "scaler_std": torch.as_tensor(np.asarray(scaler.scale_, dtype=np.float64)),
            "data_fingerprint": data.fingerprint,
            "study": study,
            "trial": int(trial),
        },
        path,
    )


def _cpu_state(net: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().cpu() for k, v in net.state_dict().items()}


def load_model(path: Path, *, device: torch.device | str = "cpu") -> tuple[nn.Module, ModelMeta]:
    """Rebuild an exported model in eval mode: the plain model, or an ``EnsembleNet`` of K > 1.

    Feed it windows prepared with ``meta.seq_len`` and ``meta.window_end``, standardized with
    ``meta.scaler_mean`` / ``meta.scaler_std`` (``harness.data.prepare`` on the same data does
    both); ``harness.modelfile.split_probs(net, prepared, "val")`` gives the probabilities.
    """
    path = Path(path)
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle, runtime and OS errors alike
        raise CheckpointError(f"{path}: cannot be loaded with weights_only=True ({exc})") from exc
    if not isinstance(raw, dict) or not str(raw.get("format", "")).startswith("harness-final-"):
        raise CheckpointError(f"{path}: not a harness model file (format {FORMAT!r} expected)")
    if raw["format"] not in READS:
        raise CheckpointError(
            f"{path}: written by another version of the harness (format {raw['format']!r}, this "
            f"one reads {' and '.join(READS)}); finalize the study again with this version."
        )
    try:
        meta = _meta(raw, path)
        build = MODELS[meta.model].build
        nets = []
        for state in [raw["state_dict"], *raw["extra_state_dicts"]]:
            net = build(meta.run.net, meta.spec)
            net.load_state_dict(state)
            nets.append(net)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: cannot rebuild the model ({exc})") from exc
    net = nets[0] if len(nets) == 1 else EnsembleNet(nets)
    return net.to(device).eval(), meta


def _meta(raw: dict[str, Any], path: Path) -> ModelMeta:
    run = RunConfig.from_flat(raw["config"], where=f"{path}: config")
    return ModelMeta(
        model=str(raw["model"]),
        run=run,
        seeds=tuple(int(s) for s in raw["seeds"]),
        feature_names=tuple(raw["feature_names"]),
        horizons=tuple(int(h) for h in raw["horizons"]),
        symbols=tuple(raw["symbols"]),
        scaler_mean=raw["scaler_mean"].numpy(),
        scaler_std=raw["scaler_std"].numpy(),
        data_fingerprint=str(raw["data_fingerprint"]),
        study=str(raw["study"]),
        trial=int(raw["trial"]),
    )
