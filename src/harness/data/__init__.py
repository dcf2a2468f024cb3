"""The Phase 1 dataset: contract (load + validate), windows, demo data."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.constants import cache_dir
from harness.data.contract import (
    Bars,
    DataError,
    Phase1Data,
    PurgeWarning,
    has_phase1_data,
    load_phase1,
    read_bars,
)
from harness.data.spec import N_CLASSES, DataSpec, logits_key
from harness.data.windows import (
    Batch,
    PreparedData,
    Split,
    WindowEnd,
    WindowLoader,
    check_windows,
    cut_windows,
    full_windows,
    prepare,
    standardize,
)

__all__ = [
    "N_CLASSES",
    "Bars",
    "Batch",
    "DataError",
    "DataSpec",
    "Phase1Data",
    "PreparedData",
    "PurgeWarning",
    "Split",
    "WindowEnd",
    "WindowLoader",
    "cache_dir",
    "check_windows",
    "cut_windows",
    "data_root",
    "demo_root",
    "full_windows",
    "has_phase1_data",
    "load_dataset",
    "load_phase1",
    "logits_key",
    "prepare",
    "read_bars",
    "standardize",
]


def demo_root(*, seed: int = 0) -> Path:
    """The default demo dataset, generated once (atomically, so parallel workers may race)."""
    from harness.data.demo import DEMO_VERSION, make_demo

    root = cache_dir() / f"demo-v{DEMO_VERSION}-seed{seed}"
    if not root.is_dir():
        root.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".demo-", dir=root.parent))
        make_demo(tmp, seed=seed)
        try:
            tmp.rename(root)
        except OSError:  # another worker finished first; its copy is identical
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def data_root(data: Path | None, *, say: Callable[[str], None] = print) -> tuple[Path, bool]:
    """The folder to read, and whether it is the demo: `data`, else the current folder when it
    holds Phase 1 data, else the demo dataset (and `say` tells the user so first)."""
    root = Path.cwd() if data is None else Path(data)
    if has_phase1_data(root):
        return root, False
    if data is not None:
        # An explicit folder without data is a mistake, not a request for the demo.
        raise DataError(
            f"No Phase 1 data in {root}: expected data/final/{{SYMBOL}}_final_labeled.parquet "
            "(or data/final/combined_final.parquet) and config/splits/*_indices.npy under it."
        )
    demo = demo_root()
    say(f"No Phase 1 data in {root}: using the demo dataset ({demo}).")
    return demo, True


def load_dataset(data: Path | None, *, say: Callable[[str], None] = print) -> Phase1Data:
    """Load Phase 1 data from `data` (default: the current folder), or the demo dataset.

    The demo is used only when no Phase 1 data is found, and `say` tells the user so first.
    """
    root, is_demo = data_root(data, say=say)
    return dataclasses.replace(load_phase1(root), is_demo=is_demo)
