"""The exported metrics of a split (vectorbt): no return across a hole, calibration beside."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from harness.data import load_phase1, prepare
from harness.finalize.report import RELIABILITY, extremes, score_split, tearsheet_html
from harness.metrics import (
    BRIER,
    LOG_LOSS,
    SHARPE,
    TOTAL_RETURN,
    backtest,
    vectorbt_metrics,
    vectorbt_portfolios,
)
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


def test_extremes_keep_the_ends_and_each_runs_lowest_and_highest_point() -> None:
    y = np.random.default_rng(0).normal(size=10_001).cumsum()
    y[5000:5300] = np.nan  # a gap keeps a point, so the line shows it
    keep = extremes(y, 100)
    assert keep[0] == 0 and keep[-1] == y.size - 1 and np.all(np.diff(keep) > 0)
    assert keep.size <= 2 * 100 + 2
    size = -(-y.size // 100)
    for start in range(0, y.size, size):
        run = y[start : start + size]
        kept = y[keep[(keep >= start) & (keep < start + size)]]
        if np.isnan(run).all():
            assert kept.size and np.isnan(kept).all()
        else:
            assert np.nanmin(run) in kept and np.nanmax(run) in kept


def test_a_tearsheet_is_one_file_with_plotly_inside_and_a_bounded_plot() -> None:
    n = 20_000  # per symbol: every trace of the plots would hold 20,000 points
    rng = np.random.default_rng(1)
    symbols = np.repeat(["MES", "MGC"], n)
    close = np.exp(rng.normal(0, 1e-3, 2 * n).cumsum()) * 100
    pred = np.repeat(rng.integers(0, 3, 2 * n // 20), 20)  # runs of 20 bars, as models hold
    stamps = pd.DatetimeIndex(np.tile(pd.date_range("2024-01-01", periods=n, freq="5min"), 2))
    bpy = {"MES": 72_006.0, "MGC": 72_006.0}
    pfs = vectorbt_portfolios(pred, close, symbols, bars_per_year=bpy, timestamps=stamps)
    metrics = {"accuracy": 0.5, "macro_f1": 0.4, **vectorbt_metrics(pfs, bars_per_year=bpy)}
    page = tearsheet_html(model="nhits", horizon=5, metrics=metrics, portfolios=pfs, cost_bps=1)
    plotly = get_plotlyjs()
    assert plotly in page and "<script src=" not in page  # nothing to load from beside it
    assert len(page) - len(plotly) < 2_500_000  # every point: about 22 MB
    assert f"<td>{metrics[SHARPE]:.2f}</td>" in page  # the table: vectorbt's, from every bar
