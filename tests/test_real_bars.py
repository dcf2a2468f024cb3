"""benchmarks/real_bars.py's weekly bars: the days' OHLCV, stamped with no lookahead."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "real_bars.py"
_spec = importlib.util.spec_from_file_location("real_bars", SCRIPT)
assert _spec is not None and _spec.loader is not None
real_bars = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(real_bars)


def test_weekly_bars_aggregate_each_weeks_days_stamped_with_its_last_day() -> None:
    days = pd.bdate_range("2024-01-03", "2024-01-26")  # Wednesday to Friday, four weeks
    days = days[(days != "2024-01-12") & ((days < "2024-01-15") | (days > "2024-01-19"))]
    rng = np.random.default_rng(0)
    close = 100.0 + rng.normal(size=len(days)).cumsum()
    daily = pd.DataFrame(
        {
            "Open": close + rng.normal(size=len(days)),
            "High": close + 2.0,
            "Low": close - 2.0,
            "Close": close,
            "Volume": rng.integers(1, 1000, len(days)),
        },
        index=days,
    )
    week = real_bars.weekly(daily)
    # a short week ends on its Thursday; the week without days has no bar
    assert list(week.index) == list(pd.to_datetime(["2024-01-05", "2024-01-11", "2024-01-26"]))
    for (start, end), (stamp, bar) in zip(
        [("2024-01-03", "2024-01-05"), ("2024-01-08", "2024-01-11"), ("2024-01-22", "2024-01-26")],
        week.iterrows(),
        strict=True,
    ):
        own = daily.loc[start:end]
        assert stamp == own.index[-1]
        assert bar["Open"] == own["Open"].iloc[0] and bar["Close"] == own["Close"].iloc[-1]
        assert bar["High"] == own["High"].max() and bar["Low"] == own["Low"].min()
        assert bar["Volume"] == own["Volume"].sum()
