"""Train one configuration: seed, build, fit with early stopping, keep the best epoch's weights."""

from __future__ import annotations

import copy
import logging
import math
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch import nn

from harness import interrupts
from harness.config.run import Budget, RunConfig, ScoreConfig
from harness.data import PreparedData, WindowLoader
from harness.metrics import SCORE
from harness.models import MODELS, SymbolScaler
from harness.seeds import mix
from harness.training.curves import Curves, curve_log
from harness.training.module import TRAIN_LOSS, DivergedError, Phase2Module, ValPredictions

EVAL_BATCH = 512
"""Rows per evaluation batch at least (no gradients: larger batches are cheaper)."""


@dataclass
class FitResult:
    net: nn.Module  # with the best epoch's weights, in eval mode
    score: float  # the best epoch's score
    best_epoch: int
    epochs: int  # epochs run
    history: list[dict[str, Any]]  # per epoch: losses, lr, score, train/val metrics per horizon
    seconds: float
    val_predictions: ValPredictions  # the best epoch's predicted classes of the val rows

    @property
    def best(self) -> dict[str, Any]:
        return next(e for e in self.history if e["epoch"] == self.best_epoch)


class KeepBest(Callback):
    """Holds a copy of the weights of the best-scoring epoch (in memory: no checkpoint files)
    and the val classes it predicted."""

    def __init__(self) -> None:
        self.score = -math.inf
        self.epoch = -1
        self.state: dict[str, torch.Tensor] | None = None
        self.val_predictions: ValPredictions | None = None

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
            self.val_predictions = module.val_predictions


class EpochDone(Callback):
    """Completes each epoch's history entry (train loss, lr, time) and hands it to each
    listener given (None: none)."""

    def __init__(self, *listeners: Callable[[dict[str, Any]], None] | None) -> None:
        self.listeners = [f for f in listeners if f is not None]
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
        for listener in self.listeners:
            listener(entry)


def seed_for(study_seed: int, trial_number: int) -> int:
    """One seed per trial, from the study seed and the trial number."""
    return mix(study_seed, trial_number)


def eval_batch_size(run: RunConfig) -> int:
    return max(run.train.batch_size, EVAL_BATCH)


def build_net(run: RunConfig, data: PreparedData, *, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    net = MODELS[run.model].build(run.net, data.spec)
    for part in net.modules():
        if isinstance(part, SymbolScaler):  # its statistics: the train rows', per symbol
            part.fit(data.features[data.train], data.symbol_ids[data.train])
    return net


def fit(
    run: RunConfig,
    data: PreparedData,
    score: ScoreConfig,
    *,
    budget: Budget,
    seed: int,
    callbacks: Sequence[Callback] = (),
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    progress: bool = False,
    curves: Curves | None = None,
) -> FitResult:
    """Train `run` on the train rows, score every epoch on val, return the best epoch.

    `budget` bounds everything: epochs, early-stopping patience, train batches per epoch,
    batches per evaluation, and the recent train rows whose metrics each epoch reports (cap it
    with the command line's caps first: ``budget.capped(caps)``). `callbacks` run beside early
    stopping (a pruning callback, say); `on_epoch` gets each epoch's history entry as it ends,
    and `curves` names the run its logger writes them to (``training.curves``).
    Raises DivergedError when the loss is not finite, and whatever a callback raises.
    """
    if data.seq_len != run.seq_len:
        raise ValueError(f"data prepared for seq_len {data.seq_len}, config has {run.seq_len}")
    pl.seed_everything(seed, workers=False, verbose=False)
    net = build_net(run, data, seed=seed)
    module = Phase2Module(
        net,
        data=data,
        config=run.train,
        score=score,
        budget=budget,
        bars_per_year=data.bars_per_year,  # per symbol, from train and val timestamps only
    )
    keep = KeepBest()
    train_loader = data.loader(
        "train",
        batch_size=run.train.batch_size,
        shuffle=True,
        seed=seed,
        max_batches=budget.batches_per_epoch,
    )
    eval_loaders = [  # the order of module.EVAL_SPLITS
        WindowLoader(
            data,
            rows,
            batch_size=eval_batch_size(run),
            shuffle=False,
            seed=0,
            max_batches=budget.eval_batches,
        )
        for rows in (data.val, data.tail("train", budget.train_eval_rows))
    ]
    start = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="harness-fit-") as root,
        _quiet_lightning(),
        curve_log(curves, run.to_flat()) as log_curves,
    ):
        trainer = pl.Trainer(
            accelerator="gpu" if data.device.type == "cuda" else "cpu",
            devices=1,
            precision=run.train.precision,
            max_epochs=budget.max_epochs,
            gradient_clip_val=run.train.grad_clip or None,
            callbacks=[
                keep,
                EarlyStopping(SCORE, mode="max", patience=budget.patience, check_finite=False),
                EpochDone(on_epoch, log_curves),
                StopOnCtrlC(),
                *callbacks,
            ],
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=progress,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            default_root_dir=root,  # nothing lands in the working folder
        )
        _fit_interruptible(trainer, module, train_loader, eval_loaders)
    seconds = time.perf_counter() - start
    if keep.state is None or keep.val_predictions is None:
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
        val_predictions=keep.val_predictions,
    )


class StopOnCtrlC(Callback):
    """Raises a Ctrl-C pressed during training before the next batch (``harness.interrupts``)."""

    def on_train_batch_start(self, *args: Any) -> None:
        interrupts.check()

    def on_validation_batch_start(self, *args: Any) -> None:
        interrupts.check()


def _fit_interruptible(
    trainer: pl.Trainer, module: pl.LightningModule, train: WindowLoader, evals: list[WindowLoader]
) -> None:
    """``trainer.fit``, where Ctrl-C stays a KeyboardInterrupt.

    Ctrl-C is taken between batches (``StopOnCtrlC``). Lightning then tears down, ignores
    SIGINT for the rest of the process and calls ``sys.exit(1)``: a search would die with its
    trial RUNNING and exit code 1. Here the exit becomes the KeyboardInterrupt again and SIGINT
    its handler, so the caller closes what it started (the objective fails the trial) and the
    command exits 130. SIGTERM, which Lightning turns into a SystemExit of no code (exit 0: a
    pipeline would carry on), becomes ``interrupts.Terminated`` the same way: exit 143.
    """
    with interrupts.deferred():
        try:
            trainer.fit(module, train_dataloaders=train, val_dataloaders=evals)
        except SystemExit as exc:
            stop = exc.__context__  # exit in `except KeyboardInterrupt` (Terminated included)
            if isinstance(stop, KeyboardInterrupt):
                raise stop from None
            if isinstance(exc, SIGTERMException):  # SIGTERM seen by Lightning's own loop first
                raise interrupts.Terminated from None
            raise


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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._warnings.__exit__(exc_type, exc, tb)
        for name, level in zip(self._LOGGERS, self._levels, strict=True):
            logging.getLogger(name).setLevel(level)
