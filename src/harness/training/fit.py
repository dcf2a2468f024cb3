"""Train one configuration: seed, build, fit with early stopping, keep the best epoch's weights."""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping
from torch import nn

from harness.data import PreparedData, WindowLoader, logits_key
from harness.metrics import SCORE
from harness.metrics.trading import bars_per_year
from harness.models import MODELS
from harness.training.config import RunConfig, ScoreConfig
from harness.training.module import TRAIN_LOSS, DivergedError, Phase2Module


@dataclass
class FitResult:
    net: nn.Module  # with the best epoch's weights, in eval mode
    score: float  # the best epoch's score
    best_epoch: int
    epochs: int  # epochs run
    history: list[dict[str, Any]]  # per epoch: losses, lr, score, train/val metrics per horizon
    seconds: float

    @property
    def best(self) -> dict[str, Any]:
        return next(e for e in self.history if e["epoch"] == self.best_epoch)


class KeepBest(Callback):
    """Holds a copy of the weights of the best-scoring epoch (in memory: no checkpoint files)."""

    def __init__(self) -> None:
        self.score = -math.inf
        self.epoch = -1
        self.state: dict[str, torch.Tensor] | None = None

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        # The history holds the exact score; Lightning's logged copy is float32.
        assert isinstance(module, Phase2Module)
        if trainer.sanity_checking or not module.history:
            return
        entry = module.history[-1]
        if entry["epoch"] != module.current_epoch:
            return
        value = float(entry[SCORE])
        if math.isfinite(value) and value > self.score:
            self.score, self.epoch = value, module.current_epoch
            self.state = copy.deepcopy(module.net.state_dict())


class EpochReport(Callback):
    """Completes each epoch's history entry (train loss, lr, time) and hands it to `report`."""

    def __init__(self, report: Callable[[dict[str, Any]], None] | None) -> None:
        self.report = report
        self._start = time.perf_counter()

    def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        # Lightning validates before train-epoch-end hooks: the entry of this epoch is there.
        assert isinstance(module, Phase2Module)
        if not module.history or module.history[-1]["epoch"] != module.current_epoch:
            return
        entry = module.history[-1]
        entry[TRAIN_LOSS] = float(trainer.callback_metrics.get(TRAIN_LOSS, float("nan")))
        entry["lr"] = trainer.optimizers[0].param_groups[0]["lr"]
        entry["seconds"] = time.perf_counter() - self._start
        if self.report is not None:
            self.report(entry)


def device_for_training() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_for(study_seed: int, trial_number: int) -> int:
    """One seed per trial, from the study seed and the trial number."""
    return (study_seed * 1_000_003 + trial_number) % (2**31 - 1)


def build_net(run: RunConfig, data: PreparedData, *, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return MODELS[run.model].build(run.net, data.spec)


def fit(
    run: RunConfig,
    data: PreparedData,
    score: ScoreConfig,
    *,
    seed: int,
    max_epochs: int | None = None,
    max_batches: int | None = None,
    eval_batches: int | None = None,
    train_eval_rows: int | None = None,
    callbacks: Sequence[Callback] = (),
    report: Callable[[dict[str, Any]], None] | None = None,
    progress: bool = False,
) -> FitResult:
    """Train `run` on the train rows, score every epoch on val, return the best epoch.

    `max_epochs` caps the epochs, `max_batches` the train batches of an epoch, `eval_batches`
    the batches of each evaluation; train metrics are computed on the `train_eval_rows` most
    recent train rows (all by default). `callbacks` run beside early stopping (a pruning
    callback, say); `report` gets each epoch's history entry as it ends.
    Raises DivergedError when the loss is not finite, and whatever a callback raises.
    """
    if data.seq_len != run.seq_len:
        raise ValueError(f"data prepared for seq_len {data.seq_len}, config has {run.seq_len}")
    pl.seed_everything(seed, workers=False, verbose=False)
    net = build_net(run, data, seed=seed)
    epochs = run.train.max_epochs if max_epochs is None else min(max_epochs, run.train.max_epochs)
    module = Phase2Module(
        net,
        data=data,
        config=dataclasses.replace(run.train, max_epochs=epochs),  # the cosine schedule's length
        score=score,
        bars_per_year=bars_per_year(data.timestamps, data.symbols),
    )
    keep = KeepBest()
    batch = run.train.batch_size
    train_loader = data.loader(
        "train", batch_size=batch, shuffle=True, seed=seed, max_batches=max_batches
    )
    eval_batch = max(batch, 512)  # no gradients: larger batches are cheaper
    eval_loaders = [  # the order of module.EVAL_SPLITS
        WindowLoader(
            data, data.val, batch_size=eval_batch, shuffle=False, seed=0, max_batches=eval_batches
        ),
        WindowLoader(
            data,
            data.tail("train", train_eval_rows),
            batch_size=eval_batch,
            shuffle=False,
            seed=0,
            max_batches=eval_batches,
        ),
    ]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="harness-fit-") as root, _quiet_lightning():
        trainer = pl.Trainer(
            accelerator="gpu" if data.device.type == "cuda" else "cpu",
            devices=1,
            precision=run.train.precision,  # type: ignore[arg-type]
            max_epochs=epochs,
            gradient_clip_val=run.train.grad_clip or None,
            callbacks=[
                keep,
                EarlyStopping(SCORE, mode="max", patience=run.train.patience, check_finite=False),
                EpochReport(report),
                *callbacks,
            ],
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=progress,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            default_root_dir=root,  # nothing lands in the working folder
        )
        trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=eval_loaders)
    seconds = time.perf_counter() - start
    if keep.state is None:
        raise DivergedError("no epoch produced a finite validation score")
    net.load_state_dict(keep.state)
    net.eval()
    return FitResult(
        net=net,
        score=keep.score,
        best_epoch=keep.epoch,
        epochs=len(module.history),
        history=module.history,
        seconds=seconds,
    )


@torch.no_grad()
def predict_proba(
    net: nn.Module, data: PreparedData, split: str, *, batch_size: int = 1024
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Rows [N] of `split` in order and class probabilities per horizon [N, 3] float32."""
    net.eval()
    rows, probs = [], {h: [] for h in data.spec.horizons}
    for b in data.loader(split, batch_size=batch_size):  # type: ignore[arg-type]
        out = net(b.x, b.symbol)
        rows.append(b.rows.cpu())
        for h in data.spec.horizons:
            probs[h].append(torch.softmax(out[logits_key(h)].float(), -1).cpu())
    return (
        torch.cat(rows).numpy(),
        {h: torch.cat(p).numpy().astype(np.float32) for h, p in probs.items()},
    )


class _quiet_lightning:
    """Lightning's banners and data-loader hints are noise here; real warnings still show."""

    # neuralforecast imports pytorch_lightning, which then logs our Trainer's banners too
    _LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning_fabric", "pytorch_lightning")

    def __enter__(self) -> None:
        self._levels = [logging.getLogger(name).level for name in self._LOGGERS]
        for name in self._LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        for hint in ("does not have many workers", "number of training batches", "LeafSpec"):
            warnings.filterwarnings("ignore", f".*{hint}.*")

    def __exit__(self, *exc: object) -> None:
        self._warnings.__exit__(*exc)
        for name, level in zip(self._LOGGERS, self._levels, strict=True):
            logging.getLogger(name).setLevel(level)
