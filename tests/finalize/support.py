"""What the finalize tests share: the searched storage and a few helpers."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import Caps
from harness.data import Phase1Data
from harness.finalize import FinalizeReport, finalize
from harness.training import Recipe

MODELS = ("nhits", "tft", "patchtst")
# Finalize runs with the caps the search ran with, so it retrains exactly the best trial.
# One evaluation batch (512 rows) covers the 378 validation rows of 5 demo days.
CAPS = Caps(epochs=1, max_batches=1)
PROFILE = "cpu"  # the CPU-sized spaces and budgets, whatever the device


@dataclass(frozen=True)
class Searched:
    """A storage holding one finished study per model, and what finalize needs to read it."""

    data: Phase1Data
    storage: str
    study_names: dict[str, str]

    def finalize(
        self,
        out: Path,
        models: Sequence[str] = MODELS,
        *,
        study_names: dict[str, str] | None = None,
        **options: Any,
    ) -> FinalizeReport:
        return finalize(
            recipes=[Recipe.load(m, self.data, profile=PROFILE, caps=CAPS) for m in models],
            storage=self.storage,
            study_names={**self.study_names, **(study_names or {})},
            out=out,
            **{"say": lambda _: None, **options},
        )


def dead_pid() -> int:
    """The id of a process that has ended (its reuse within the test is vanishingly unlikely)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid
