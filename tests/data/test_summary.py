"""check-data's summary: holes in the splits, bars per year per symbol."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.data import load_phase1
from harness.data.summary import summarize
from tests.conftest import tiny_frames, tiny_splits, write_dataset


def test_summary_counts_holes_and_skipped_rows_per_split_and_symbol(tmp_path: Path) -> None:
    splits = tiny_splits()  # per symbol of 120 rows: train 0..65, val 72..89, test 96..119
    val = splits["val"]
    # MES val loses rows 75..79 (a hole of 5) and 85 (a hole of 1); MGC val (120 + ...) keeps all
    splits["val"] = val[~np.isin(val, [75, 76, 77, 78, 79, 85])]
    # MGC test loses its rows 100..101 (frame rows 220, 221)
    splits["test"] = splits["test"][~np.isin(splits["test"], [220, 221])]
    data = load_phase1(write_dataset(tmp_path, tiny_frames(), splits))
    by_symbol = {s.symbol: s for s in summarize(data).symbols}
    assert by_symbol["MES"].holes == {"train": 0, "val": 2, "test": 0}
    assert by_symbol["MES"].skipped_rows == {"train": 0, "val": 6, "test": 0}
    assert by_symbol["MGC"].holes == {"train": 0, "val": 0, "test": 1}
    assert by_symbol["MGC"].skipped_rows == {"train": 0, "val": 0, "test": 2}


def test_summary_of_contiguous_splits_has_no_holes(tiny_dataset: Path) -> None:
    for row in summarize(load_phase1(tiny_dataset)).symbols:
        assert row.holes == {"train": 0, "val": 0, "test": 0}
        assert row.skipped_rows == {"train": 0, "val": 0, "test": 0}


def test_summary_gives_each_symbols_bars_per_year_from_train_and_val(tmp_path: Path) -> None:
    frames, splits = tiny_frames(), tiny_splits()
    frames["MGC"]["timestamp"] = pd.date_range("2024-01-01", periods=120, freq="D")
    by_symbol = {
        s.symbol: s for s in summarize(load_phase1(write_dataset(tmp_path, frames, splits))).symbols
    }
    assert by_symbol["MES"].bars_per_year == pytest.approx(8766.0)
    assert by_symbol["MGC"].bars_per_year == pytest.approx(365.25)
