"""The estimate said before a search: time per epoch and trial, the largest config's memory."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from harness.config import ObjectiveSpec, RunConfig, SearchSpace
from harness.data import DataSpec, load_phase1
from harness.search.estimate import (
    BYTES_PER_PARAM,
    Estimate,
    MemoryEstimate,
    TimeEstimate,
    estimate,
    largest_configs,
    training_bytes,
)
from harness.training import Recipe
from tests.conftest import HORIZONS, TINY

BUDGET = {"max_epochs": 3, "patience": 2, "batches_per_epoch": 2, "train_eval_rows": 64}
SPACE = {
    "model": "nhits",
    "fixed": {**TINY["nhits"], "batch_size": 8},
    "params": {
        "learning_rate": {"type": "float", "low": 1.0e-4, "high": 1.0e-2, "log": True},
        "mlp_units": {"type": "categorical", "choices": [8, 16]},
        "batch_size": {"type": "categorical", "choices": [8, 32]},
        "pooling": {"type": "categorical", "choices": ["fine", "coarse"]},
    },
}


def recipe(root: Path) -> Recipe:
    return Recipe(
        space=SearchSpace.model_validate(SPACE),
        objective=ObjectiveSpec.model_validate({"model": "nhits", "budget": BUDGET}),
        data=load_phase1(root),
    )


def test_the_estimate_times_the_budget_and_bounds_the_largest(tiny_dataset: Path) -> None:
    found = estimate(recipe(tiny_dataset))
    t, m = found.time, found.memory
    assert t.step_seconds > 0 and t.eval_seconds_per_window > 0
    assert t.train_batches == 2 and t.epochs == 3  # the budget's
    assert 1 <= t.steps_timed <= 2  # never more batches than an epoch of the budget
    assert t.trial_seconds == pytest.approx(t.build_seconds + 3 * t.epoch_seconds)
    assert m.config["mlp_units"] == 16 and m.batch_size == 32  # the top of each numeric choice
    assert 0 < m.needed < m.available


def test_the_estimate_is_two_lines_before_the_search() -> None:
    found = Estimate(
        model="tft",
        profile="cpu",
        time=TimeEstimate(
            batch_size=128,
            step_seconds=0.25,
            steps_timed=4,
            eval_seconds_per_window=0.001,
            build_seconds=1.0,
            train_batches=8,
            eval_windows=2000,
            epochs=6,
        ),
        memory=MemoryEstimate(
            config={"hidden_size": 32},
            batch_size=256,
            params=1,
            needed=2**30,
            available=2**34,
            where="RAM",
        ),
    )
    time_line, memory_line = found.lines(trials=4)
    assert time_line.startswith("estimate: 0.25 s per train batch of 128")
    assert "4.0 s per epoch" in time_line and "at most 25 s per trial (6 epochs)" in time_line
    assert time_line.endswith("4 trial(s): at most 2 min")
    assert memory_line.startswith("memory: the largest config (hidden_size=32) needs about 1.0 GiB")
    short = dataclasses.replace(found.memory, available=2**29)
    warning = dataclasses.replace(found, memory=short).lines(trials=4)[1]
    assert warning.startswith("warning: the largest config of the space (hidden_size=32)")
    assert "more than the 0.5 GiB of RAM per worker" in warning


def test_largest_configs_take_the_top_of_numbers_and_each_other_choice() -> None:
    configs = largest_configs(SearchSpace.model_validate(SPACE))
    assert [c["pooling"] for c in configs] == ["fine", "coarse"]
    assert all(c["batch_size"] == 32 and c["learning_rate"] == 1.0e-2 for c in configs)


def test_training_memory_grows_with_the_batch_and_counts_the_optimizer() -> None:
    spec, cpu = DataSpec(("a", "b", "c"), HORIZONS, ("MES", "MGC")), torch.device("cpu")
    flat = {"model": "nhits", **TINY["nhits"]}
    small, n_params = training_bytes(RunConfig.from_flat({**flat, "batch_size": 8}), spec, cpu)
    large, _ = training_bytes(RunConfig.from_flat({**flat, "batch_size": 512}), spec, cpu)
    assert BYTES_PER_PARAM * n_params < small < large
