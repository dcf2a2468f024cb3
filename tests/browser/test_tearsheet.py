"""A tearsheet copied alone into an empty folder, opened from disk in Chromium, draws its plots."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harness.finalize.report import plotly_script, tearsheet_html
from harness.metrics import vectorbt_metrics, vectorbt_portfolios

SYMBOLS = ("MES", "MGC")
BARS = 3_000  # per symbol: under the thinning threshold, so a line keeps its bars

# Per plot on the page, the number of points (M and L commands) of each drawn line; null where
# plotly.js never loaded, so nothing will draw.
LINE_POINTS = """
if (typeof Plotly === 'undefined') return null;
return Array.from(document.querySelectorAll('.js-plotly-plot')).map(plot =>
  Array.from(plot.querySelectorAll('svg.main-svg .scatterlayer .trace path.js-line')).map(
    line => ((line.getAttribute('d') || '').match(/[ML]/g) || []).length));
"""


def tearsheet() -> str:
    """finalize's tearsheet of a synthetic validation set: two symbols, predictions held 20 bars."""
    rng = np.random.default_rng(2)
    symbols = np.repeat(SYMBOLS, BARS)
    close = np.exp(rng.normal(0, 1e-3, symbols.size).cumsum()) * 100
    pred = np.repeat(rng.integers(0, 3, symbols.size // 20), 20)
    stamps = pd.DatetimeIndex(np.tile(pd.date_range("2024-01-01", periods=BARS, freq="5min"), 2))
    bpy = dict.fromkeys(SYMBOLS, 72_006.0)
    pfs = vectorbt_portfolios(pred, close, symbols, bars_per_year=bpy, timestamps=stamps)
    metrics = {"accuracy": 0.5, "macro_f1": 0.4, **vectorbt_metrics(pfs, bars_per_year=bpy)}
    return tearsheet_html(model="nhits", horizon=5, metrics=metrics, portfolios=pfs, cost_bps=1)


def opened_alone(browser: Any, folder: Path, page: str) -> tuple[list[list[int]] | None, list[str]]:
    """Write `page` alone into the empty `folder`, open it from disk: the points of each plot's
    lines once every plot is drawn (what was drawn after 30 s; None without plotly.js), and the
    page's errors."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    folder.mkdir()
    path = folder / "nhits_5bar_tearsheet.html"
    path.write_text(page)
    assert [p.name for p in folder.iterdir()] == [path.name]  # nothing beside it to load
    browser.get_log("browser")  # the session's browser: forget what earlier pages logged
    browser.get(path.as_uri())
    lines: list[list[int]] | None = []

    def drawn(driver: Any) -> bool:
        nonlocal lines
        lines = driver.execute_script(LINE_POINTS)
        return lines is None or (len(lines) == len(SYMBOLS) and all(lines))

    with contextlib.suppress(TimeoutException):  # the caller says what is missing
        WebDriverWait(browser, 30, poll_frequency=0.5).until(drawn)
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    return lines, errors


@pytest.mark.slow
def test_a_tearsheet_copied_alone_draws_its_plots(browser: Any, tmp_path: Path) -> None:
    page = tearsheet()
    # The premise: the same page loading plotly.js from beside it draws nothing once copied alone.
    beside = page.replace(plotly_script(), '<script src="plotly.min.js"></script>')
    assert beside != page
    lines, errors = opened_alone(browser, tmp_path / "beside", beside)
    assert lines is None and any("Plotly is not defined" in e for e in errors)

    lines, errors = opened_alone(browser, tmp_path / "alone", page)
    assert errors == []
    # One figure per symbol, each with a line through its bars.
    assert lines is not None and len(lines) == len(SYMBOLS), f"plots drawn: {lines}"
    for points in lines:
        assert max(points) > BARS // 3, f"no long line drawn: {points}"
