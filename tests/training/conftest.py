"""Shared by the training tests: a small demo dataset, prepared once, and tiny model configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.config import RunConfig
from harness.data import PreparedData, load_phase1, prepare
from harness.data.demo import make_demo
from tests.conftest import SEQ_LEN, TINY

DAYS = 6  # 1,596 rows per symbol: about 2,100 train and 460 val windows at SEQ_LEN


def tiny_run(model: str, **overrides: Any) -> RunConfig:
    """A tiny config of `model`: TINY, a batch of 32, then `overrides` (model or training keys)."""
    return RunConfig.from_flat(
        {"model": model, **TINY[model], "batch_size": 32, "learning_rate": 3.0e-3, **overrides}
    )


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    make_demo(root, seed=0, days=DAYS)
    return root


@pytest.fixture(scope="session")
def demo_data(demo_dir: Path) -> PreparedData:
    return prepare(load_phase1(demo_dir), seq_len=SEQ_LEN)
