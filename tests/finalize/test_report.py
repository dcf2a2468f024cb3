"""The exported metrics of a split (vectorbt): no return across a hole, calibration beside."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.data import load_phase1, prepare
from harness.finalize.report import RELIABILITY, score_split
from harness.metrics import BRIER, LOG_LOSS, SHARPE, TOTAL_RETURN, backtest
from tests.conftest import SEQ_LEN


def test_a_val_split_with_a_hole_books_no_return_across_it(tiny_dataset: Path) -> None:
    data = prepare(load_phase1(tiny_dataset), seq_len=SEQ_LEN)
    val = data.val.numpy()
    rows = np.concatenate([val[:5], val[10:]])  # MES val skips 5 rows
    n, horizons = len(rows), data.spec.horizons
    long = np.tile([0.1, 0.1, 0.8], (n, 1)).astype(np.float32)  # always long
    result = score_split(
        rows, dict.fromkeys(horizons, long), data, bars_per_year=data.bars_per_year, cost_bps=1.0
    )
    close, symbols = data.close[rows], data.symbols[rows]
    pred = np.full(n, 2)
    apart = backtest(pred, close, symbols, bars_per_year=data.bars_per_year, positions=rows)
    across = backtest(pred, close, symbols, bars_per_year=data.bars_per_year)
    assert apart[TOTAL_RETURN] != pytest.approx(across[TOTAL_RETURN])  # the premise: it matters
    for h in horizons:
        got = result.metrics[h]
        assert got[TOTAL_RETURN] == pytest.approx(apart[TOTAL_RETURN], rel=1e-9)
        assert got[SHARPE] == pytest.approx(apart[SHARPE], rel=1e-9)
        assert got["n_trades"] == apart["n_trades"] == 3  # MES before and after the hole, MGC
        assert got[LOG_LOSS] > 0 and 0 <= got[BRIER] <= 2
        assert sum(sum(c) for c in got[RELIABILITY]["count"]) == 3 * n
