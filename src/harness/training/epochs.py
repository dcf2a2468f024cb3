"""The epoch-by-epoch record of a run: a log file written as epochs end, and table rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from harness.config.run import RunConfig
from harness.metrics import MACRO_F1, SCORE, SHARPE
from harness.training.module import TRAIN_LOSS, VAL_LOSS


def epoch_line(entry: dict[str, Any]) -> str:
    """One log line: losses, learning rate, score, then every metric as JSON."""
    nan = float("nan")
    head = (
        f"epoch {entry['epoch']:3d}  train_loss {entry.get(TRAIN_LOSS, nan):.5f}  "
        f"val_loss {entry.get(VAL_LOSS, nan):.5f}  lr {entry.get('lr', nan):.3g}  "
        f"score {entry.get(SCORE, nan):.5f}  {entry.get('seconds', 0.0):.1f}s"
    )
    metrics = {split: entry[split] for split in ("train", "val") if split in entry}
    return f"{head}  {json.dumps(metrics, default=str, separators=(',', ':'))}"


class EpochLog:
    """Appends one line per epoch and flushes it, so a crash loses nothing already trained."""

    def __init__(self, path: Path, run: RunConfig) -> None:
        self.path = Path(path)
        self.run = run
        self._file: TextIO | None = None

    def __enter__(self) -> Callable[[dict[str, Any]], None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w")
        self._file.write(f"config {json.dumps(self.run.to_flat(), sort_keys=True)}\n")
        return self.write

    def write(self, entry: dict[str, Any]) -> None:
        assert self._file is not None
        self._file.write(epoch_line(entry) + "\n")
        self._file.flush()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._file is not None
        if exc is not None:
            self._file.write(f"stopped: {type(exc).__name__}: {exc}\n")
        self._file.close()


def epoch_table_header(horizons: tuple[int, ...]) -> str:
    cols = "".join(f"  {'F1@' + str(h):>7} {'SR@' + str(h):>7}" for h in horizons)
    return (
        f"{'epoch':>5} {'train_loss':>10} {'val_loss':>9} {'lr':>8} {'score':>8}{cols} {'time':>6}"
    )


def epoch_table_row(entry: dict[str, Any], horizons: tuple[int, ...]) -> str:
    val = entry.get("val", {})
    nan = float("nan")
    cols = "".join(
        f"  {val.get(h, {}).get(MACRO_F1, nan):7.3f} {val.get(h, {}).get(SHARPE, nan):7.2f}"
        for h in horizons
    )
    return (
        f"{entry['epoch']:>5} {entry.get(TRAIN_LOSS, float('nan')):10.4f} "
        f"{entry.get(VAL_LOSS, float('nan')):9.4f} {entry.get('lr', float('nan')):8.2g} "
        f"{entry.get(SCORE, float('nan')):8.4f}{cols} {entry.get('seconds', 0.0):5.1f}s"
    )
