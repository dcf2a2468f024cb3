"""Bars per year per symbol, from the train and val timestamps only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness.data import DataError, load_phase1, prepare
from harness.data.calendar import seen_bars_per_year
from tests.conftest import tiny_frames, tiny_splits, write_dataset


def test_each_symbol_gets_its_own_figure_on_a_mixed_spacing_dataset(tmp_path: Path) -> None:
    frames = tiny_frames(n=400)
    frames["MGC"]["timestamp"] = pd.date_range("2024-01-01", periods=400, freq="D")
    data = load_phase1(write_dataset(tmp_path, frames, tiny_splits(n=400)))
    figures = seen_bars_per_year(data)
    assert figures["MES"] == pytest.approx(8766.0)  # hourly, around the clock
    assert figures["MGC"] == pytest.approx(365.25)  # daily, every day
    assert prepare(data, seq_len=8).bars_per_year == figures


def test_the_gap_between_train_and_val_does_not_thin_the_bars(tmp_path: Path) -> None:
    # Weekday bars, a 30-bar gap between train and val: counted across the gap, the weeks there
    # would hold no bars and the figure would drop by about 30 / 280.
    frames = tiny_frames(n=400)
    for frame in frames.values():
        frame["timestamp"] = pd.bdate_range("2024-01-01", periods=400)
    data = load_phase1(write_dataset(tmp_path, frames, tiny_splits(n=400, gap=30)))
    assert seen_bars_per_year(data)["MES"] == pytest.approx(365.25 * 5 / 7, rel=2e-3)


def test_test_timestamps_are_never_read(tmp_path: Path) -> None:
    frames, splits = tiny_frames(), tiny_splits()
    before = seen_bars_per_year(load_phase1(write_dataset(tmp_path / "a", frames, splits)))
    for frame in frames.values():
        last = frame.index[-24:]  # the test rows of each symbol are its last 24
        frame.loc[last, "timestamp"] = pd.date_range("2025-06-01", periods=24, freq="min")
    after = seen_bars_per_year(load_phase1(write_dataset(tmp_path / "b", frames, splits)))
    assert after == before


def test_a_symbol_without_two_consecutive_seen_bars_is_a_data_error(tmp_path: Path) -> None:
    splits = tiny_splits()
    mes_train = splits["train"][splits["train"] < 120]
    lone = mes_train[::2]  # every other row: no two consecutive bars of MES in train
    splits["train"] = splits["train"][(splits["train"] >= 120)]
    splits["train"] = pd.Index(lone).append(pd.Index(splits["train"])).to_numpy()
    splits["val"] = splits["val"][splits["val"] >= 120]  # MES has no val rows
    data = load_phase1(write_dataset(tmp_path, tiny_frames(), splits))
    with pytest.raises(DataError, match="MES"):
        seen_bars_per_year(data)
