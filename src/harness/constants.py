"""The version, the format of what the harness stores, and the defaults that the command line
shows without importing torch: nothing here imports the rest of the package."""

from __future__ import annotations

import functools
import os
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("harness")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"


@functools.cache
def source_commit() -> str | None:
    """The commit of the checkout the harness runs from (12 hex digits, ``-dirty`` when tracked
    files differ from it); None when installed from a wheel, or git is missing or fails."""
    root = Path(__file__).resolve().parents[2]  # src/harness/constants.py -> the checkout
    if not (root / ".git").exists():
        return None
    describe = ["describe", "--always", "--dirty", "--abbrev=12", "--exclude=*"]  # no tags
    try:
        found = subprocess.run(
            ["git", "-C", str(root), *describe],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip() or None


FORMAT_VERSION = 5
"""The format of what the harness stores and exports (study attributes, trial configs,
checkpoints, metrics.json). Raised whenever their meaning changes; a study of another format is
refused rather than mixed. 2: the budget (epochs, patience) left the trial config. 3: the score's
Sharpe term is the probabilistic Sharpe ratio by default; Sharpe ratios are annualized per symbol
with bars per year from the train and val timestamps only; complete trials store their val
predictions; metrics.json gives bars_per_year per symbol, calibration, selection and
overfitting.
4: a study records its profile (attribute `profile`, part of the default name
`{model}-{profile}-{data}`).
5: a complete trial keeps its best epoch's metrics as flat attributes, one number each
(`val_macro_f1_h{h}`, ...: harness.storage.attrs) in place of the nested `val_metrics`,
`train_metrics` and `train_val_gap`, which optuna-dashboard cut at 1,024 characters; the full
metrics of every epoch are its `epoch_log` artifact."""

DEFAULT_STORAGE = "sqlite:///studies/harness.db"
"""Where studies live unless --storage or $HARNESS_STORAGE says otherwise (one machine;
postgresql://... to share)."""
STORAGE_ENV = "HARNESS_STORAGE"
"""The storage URL when --storage is not given: a password kept out of argv, where `ps` would
show it to every user of the machine."""


def storage_url(given: str | None = None) -> str:
    """`given`, else $HARNESS_STORAGE, else the default SQLite file."""
    return given or os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE


MODEL_NAMES = ("nhits", "tft", "patchtst")
"""The models, in report order; ``harness.models.MODELS`` builds them. Kept here, where the
command line reads it without importing torch."""

LOGGERS = ("tensorboard", "csv")
"""Lightning's loggers of training curves (``training.curves``), for --logger."""

DEFAULT_BLOCKS = 16
"""Blocks the val rows are cut into for the probability of backtest overfitting (12,870 splits)."""


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity; a container's CPU set)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cache_dir() -> Path:
    """Where generated data (the demo) and error reports live: $HARNESS_CACHE, else the XDG
    cache folder."""
    if env := os.environ.get("HARNESS_CACHE"):
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "harness"
