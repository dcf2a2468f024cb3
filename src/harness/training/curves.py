"""Training curves: each epoch's record written by Lightning's TensorBoard or CSV logger.

A run (a search trial, a ``harness train``, a finalize member) is one folder,
``{root}/{name}/{version}``, that ``tensorboard --logdir {root}`` reads, or that holds the CSV
logger's ``metrics.csv``. Each epoch writes, at step = epoch, the scalars of the epoch record
(``EpochDone``: losses, learning rate, score, seconds) and every scalar metric per split and
horizon as ``{split}/{metric}_h{horizon}`` (``val/macro_f1_h5``), then flushes: a pruned,
failed or killed run keeps the epochs it finished. The run's config is its hyperparameters
(``hparams.yaml``). The logger is not the Trainer's (``fit`` keeps ``logger=False``): Lightning
would add its own values at the batch step; here every point is an epoch of the epoch log.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger

from harness.constants import LOGGERS
from harness.errors import HarnessError
from harness.training.module import EVAL_SPLITS

CURVES_DIR = "logs"  # the folder of runs beside what a command keeps: artifacts, a train log


def check_logger(kind: str) -> None:
    """Refuse an unknown logger, or TensorBoard without its package, before any training."""
    if kind not in LOGGERS:
        raise HarnessError(f"--logger {kind}: expected one of {', '.join(LOGGERS)}")
    # Lightning would fall back to tensorboardX, whose files `tensorboard --logdir` still needs.
    if kind == "tensorboard" and importlib.util.find_spec("tensorboard") is None:
        raise HarnessError(
            "--logger tensorboard needs the tensorboard package: pip install 'harness[tensorboard]'"
        )


@dataclass(frozen=True)
class Curves:
    """Where runs write their curves: Lightning's `kind` logger, run `version` in
    ``root/name/version`` (None: Lightning's next ``version_N`` there)."""

    kind: str  # one of LOGGERS
    root: Path  # what `tensorboard --logdir` is given
    name: str  # a study, or a model for `harness train`
    version: str | None = None

    def __post_init__(self) -> None:
        check_logger(self.kind)

    def run(self, version: str) -> Curves:
        """The curves of one named run beside this one's (a trial, a finalize member)."""
        return dataclasses.replace(self, version=version)

    def logger(self) -> Logger:
        """A new logger for the run; a named run's earlier folder is removed: one run a folder."""
        if self.version is not None:
            shutil.rmtree(self.root / self.name / self.version, ignore_errors=True)
        if self.kind == "tensorboard":
            # no placeholder "hp_metric": the curves are the metrics
            return TensorBoardLogger(
                self.root, name=self.name, version=self.version, default_hp_metric=False
            )
        return CSVLogger(self.root, name=self.name, version=self.version)


def epoch_scalars(entry: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of one epoch record to plot: its own scalars, and each split's scalar metrics
    per horizon as ``{split}/{metric}_h{horizon}`` (per-class lists and matrices left out)."""
    out = {k: float(v) for k, v in entry.items() if k != "epoch" and _scalar(v)}
    for split in EVAL_SPLITS:
        for h, metrics in entry.get(split, {}).items():
            out.update({f"{split}/{k}_h{h}": float(v) for k, v in metrics.items() if _scalar(v)})
    return out


def _scalar(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


@contextlib.contextmanager
def curve_log(
    curves: Curves | None, config: Mapping[str, Any]
) -> Iterator[Callable[[dict[str, Any]], None] | None]:
    """The writer of a run's epoch records (None without `curves`), closed on the way out."""
    if curves is None:
        yield None
        return
    logger = curves.logger()
    logger.log_hyperparams(dict(config))

    def write(entry: dict[str, Any]) -> None:
        logger.log_metrics(epoch_scalars(entry), step=int(entry["epoch"]))
        logger.save()  # flushed each epoch: a run that stops keeps what it finished

    status = "failed"
    try:
        yield write
        status = "success"
    finally:
        logger.finalize(status)
