from __future__ import annotations

import json
import statistics
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from harness.metrics import (
    YEAR,
    backtest,
    bars_per_year,
    bars_per_year_by_symbol,
    horizon_score,
    max_drawdown,
    probabilistic_sharpe,
    sharpe_ratio,
    strategy_returns,
    vectorbt_backtest,
    vectorbt_metrics,
    vectorbt_portfolios,
)

LONG, FLAT, SHORT = 2, 1, 0


def _walk(rng: np.random.Generator, n: int, start: float, vol: float = 0.01) -> np.ndarray:
    return start * np.exp(np.cumsum(rng.normal(0.0, vol, n)))


def _two_symbols(seed: int, n_a: int = 300, n_b: int = 200) -> tuple[np.ndarray, ...]:
    """MES-like prices near 5000, then MGC-like near 2000: a big jump at the seam."""
    rng = np.random.default_rng(seed)
    close = np.r_[_walk(rng, n_a, 5000.0), _walk(rng, n_b, 2000.0)]
    symbols = np.array(["MES"] * n_a + ["MGC"] * n_b)
    pred = rng.integers(0, 3, n_a + n_b)
    return pred, close, symbols


def _holes(n_a: int = 300, n_b: int = 200) -> np.ndarray:
    """Frame positions of the rows of `_two_symbols`: a split with holes of 50, 1 and 3 rows in
    MES (one leaving a 1-row segment), and MGC further on in the frame, with a hole of 7 rows."""
    mes = np.r_[np.arange(0, 100), np.arange(150, 240), np.arange(241, 242), np.arange(245, 354)]
    mgc = np.r_[np.arange(1000, 1080), np.arange(1087, 1207)]
    assert mes.size == n_a and mgc.size == n_b
    return np.r_[mes, mgc]


# ----------------------------------------------------------------------------- hand examples


def test_hand_computed_five_bars() -> None:
    f = 0.001  # 10 bp per side
    close = [100.0, 110.0, 99.0, 89.1, 90.0]
    pred = [LONG, LONG, SHORT, FLAT, SHORT]  # the last row's prediction is never traded
    r = strategy_returns(pred, close, ["X"] * 5, cost_bps=10.0)
    expected = [
        1 / (1 + f) - 1,  # long entry at 100: the fee alone
        0.10,  # long over 100 -> 110
        0.9 * (1 - f) / (1 + f) - 1,  # long over 110 -> 99, then reverse: exit + entry fee
        1.1 * (1 - f * 0.9 / 1.1)
        - 1,  # short of N from 99 -> 89.1 is worth 1.1 N; exit fee on 0.9 N
        0.0,  # flat
    ]
    np.testing.assert_allclose(r, expected, rtol=0, atol=1e-15)

    m = backtest(pred, close, ["X"] * 5, bars_per_year=252, cost_bps=10.0)
    assert m["n_trades"] == 2
    assert m["win_rate"] == 0.5  # the long lost, the short won
    assert m["exposure"] == pytest.approx(3 / 5)
    assert m["total_return"] == pytest.approx(np.prod(1 + np.array(expected)) - 1, abs=1e-15)
    # Trade PnL = notional * (direction * (exit / entry - 1) - f * (1 + exit / entry)),
    # the notional being the equity right after the entry.
    long_pnl = (1 / (1 + f)) * ((99 / 100 - 1) - f * (1 + 99 / 100))
    short_notional = (1 / (1 + f)) * 1.1 * 0.9 * (1 - f) / (1 + f)
    short_pnl = short_notional * (-(89.1 / 99 - 1) - f * (1 + 89.1 / 99))
    assert m["profit_factor"] == pytest.approx(short_pnl / -long_pnl, rel=1e-12)


def test_long_without_costs_is_buy_and_hold() -> None:
    close = np.array([10.0, 11.0, 10.5, 12.0, 11.0, 13.0])
    r = strategy_returns([LONG] * 6, close, ["X"] * 6, cost_bps=0.0)
    np.testing.assert_allclose(r, np.r_[0.0, close[1:] / close[:-1] - 1], rtol=1e-15)


def test_short_without_costs_earns_the_fall_of_its_entry_notional() -> None:
    close = np.array([10.0, 9.0, 9.5, 8.0, 8.5])
    m = backtest([SHORT] * 5, close, ["X"] * 5, bars_per_year=252, cost_bps=0.0)
    assert m["total_return"] == pytest.approx(1 - close[-1] / close[0], rel=1e-12)
    assert m["n_trades"] == 1 and m["win_rate"] == 1.0


def test_round_trip_and_reversal_costs_on_flat_prices() -> None:
    f = 2e-4
    flat = np.full(4, 100.0)
    round_trip = backtest([LONG, FLAT, FLAT, FLAT], flat, ["X"] * 4, bars_per_year=1, cost_bps=2)
    assert round_trip["total_return"] == pytest.approx((1 - f) / (1 + f) - 1, abs=1e-15)
    reversal = backtest([LONG, SHORT, FLAT, FLAT], flat, ["X"] * 4, bars_per_year=1, cost_bps=2)
    assert reversal["total_return"] == pytest.approx(((1 - f) / (1 + f)) ** 2 - 1, abs=1e-15)
    assert reversal["n_trades"] == 2
    assert reversal["win_rate"] == 0.0
    assert reversal["profit_factor"] == 0.0


def test_never_in_the_market() -> None:
    m = backtest([FLAT] * 10, np.linspace(100, 120, 10), ["X"] * 10, bars_per_year=252)
    assert m["sharpe"] == 0.0 and m["total_return"] == 0.0 and m["max_drawdown"] == 0.0
    assert m["n_trades"] == 0 and m["exposure"] == 0.0
    assert m["win_rate"] is None and m["profit_factor"] is None


# ----------------------------------------------------------------------------- symbols


def test_seam_between_symbols_books_no_return() -> None:
    _, close, symbols = _two_symbols(0)
    r = strategy_returns(np.full(close.size, LONG), close, symbols, cost_bps=1.0)
    seam = np.flatnonzero(symbols == "MGC")[0]
    assert r[seam] == pytest.approx(1 / (1 + 1e-4) - 1, abs=1e-15)  # entry fee only
    assert np.max(np.abs(r)) < 0.1  # the 5000 -> 2000 jump is nowhere


def test_a_hole_books_no_return() -> None:
    # A split that skips 50 frame rows, over which the price jumps from 100 to 150.
    close = np.r_[np.full(75, 100.0), np.full(75, 150.0)]
    positions = np.r_[np.arange(0, 75), np.arange(125, 200)]
    long = np.full(close.size, LONG)
    f = 1e-4
    old = strategy_returns(long, close, ["X"] * 150, cost_bps=1.0)
    assert old[75] == pytest.approx(0.5)  # without positions the jump is booked as one bar
    new = strategy_returns(long, close, ["X"] * 150, cost_bps=1.0, positions=positions)
    assert new[74] == pytest.approx(-f, abs=1e-15)  # closed before the hole: the exit fee
    assert new[75] == pytest.approx(1 / (1 + f) - 1, abs=1e-15)  # re-entered: the entry fee
    assert np.max(np.abs(new)) < 1e-3
    m = backtest(long, close, ["X"] * 150, bars_per_year=252, positions=positions)
    assert m["n_trades"] == 2 and m["total_return"] < 0


def test_a_hole_is_a_seam() -> None:
    # Rows after each hole backtest exactly as if they were another symbol.
    pred, close, symbols = _two_symbols(7)
    positions = _holes()
    segment = np.cumsum(np.r_[True, np.diff(positions) != 1])
    as_symbols = np.array([f"{s}{k}" for s, k in zip(symbols, segment, strict=True)])
    ours = strategy_returns(pred, close, symbols, positions=positions)
    np.testing.assert_array_equal(ours, strategy_returns(pred, close, as_symbols))
    assert not np.array_equal(ours, strategy_returns(pred, close, symbols))
    m = backtest(pred, close, symbols, bars_per_year=252, positions=positions)
    parts = backtest(pred, close, as_symbols, bars_per_year=252)
    for key in ("sharpe", "psr", "total_return", "n_trades", "win_rate", "exposure"):
        assert m[key] == pytest.approx(parts[key], rel=1e-12, abs=1e-15), key
    assert sorted(m["by_symbol"]) == ["MES", "MGC"]


def test_contiguous_positions_change_nothing() -> None:
    pred, close, symbols = _two_symbols(8)
    positions = np.r_[np.arange(300), np.arange(400, 600)]  # the symbols far apart in the frame
    assert backtest(pred, close, symbols, bars_per_year=252, positions=positions) == backtest(
        pred, close, symbols, bars_per_year=252
    )


@pytest.mark.parametrize(
    "positions",
    [
        [0, 1, 2, 2, 3],  # repeated
        [0, 1, 3, 2, 4],  # back in time
        [0, 1, 2, 3],  # one short
        [0.0, 1.0, 2.0, 3.0, 4.0],  # not integers
    ],
)
def test_bad_positions_are_rejected(positions: list) -> None:
    with pytest.raises(ValueError, match="positions"):
        strategy_returns([LONG] * 5, np.arange(1.0, 6.0), ["X"] * 5, positions=positions)


def test_symbols_are_backtested_separately() -> None:
    pred, close, symbols = _two_symbols(1)
    both = backtest(pred, close, symbols, bars_per_year=6000)
    alone = {
        s: backtest(
            pred[symbols == s], close[symbols == s], symbols[symbols == s], bars_per_year=6000
        )
        for s in ("MES", "MGC")
    }
    for s in ("MES", "MGC"):
        ours = dict(both["by_symbol"][s])
        ref = {k: v for k, v in alone[s].items() if k != "by_symbol"}
        assert ours == pytest.approx(ref, rel=1e-12, abs=1e-15)
    growth = np.prod([1 + alone[s]["total_return"] for s in alone])
    assert both["total_return"] == pytest.approx(growth - 1, rel=1e-12)
    assert both["n_trades"] == sum(alone[s]["n_trades"] for s in alone)
    r = strategy_returns(pred, close, symbols)
    assert both["sharpe"] == pytest.approx(np.mean(r) / np.std(r, ddof=1) * np.sqrt(6000))


def test_last_prediction_of_each_symbol_is_unused() -> None:
    pred, close, symbols = _two_symbols(2)
    ends = [np.flatnonzero(symbols == s)[-1] for s in ("MES", "MGC")]
    other = pred.copy()
    other[ends] = (pred[ends] + 1) % 3
    assert backtest(other, close, symbols, bars_per_year=252) == backtest(
        pred, close, symbols, bars_per_year=252
    )


def test_result_is_strict_json() -> None:
    pred, close, symbols = _two_symbols(3)
    m = backtest(pred, close, symbols, bars_per_year=252)
    assert json.loads(json.dumps(m, allow_nan=False)) == m


@pytest.mark.parametrize(
    ("pred", "close", "symbols"),
    [
        ([2, 0, 1], [1.0, 2.0, 3.0], ["A", "B", "A"]),  # rows not grouped by symbol
        ([2, 0, 3], [1.0, 2.0, 3.0], ["A"] * 3),  # no such class
        ([2, 0, 1], [1.0, 0.0, 3.0], ["A"] * 3),  # price not > 0
        ([2, 0, 1], [1.0, np.nan, 3.0], ["A"] * 3),
        ([2, 0], [1.0, 2.0, 3.0], ["A"] * 3),  # lengths differ
        ([2, 0, 1], [1.0, 2.0, 3.0], ["A"] * 2),
    ],
)
def test_bad_input_is_rejected(pred: list, close: list, symbols: list) -> None:
    with pytest.raises(ValueError):
        backtest(pred, close, symbols, bars_per_year=252)


# ----------------------------------------------------------------------------- statistics


def test_probabilistic_sharpe_by_hand() -> None:
    rng = np.random.default_rng(9)
    r = rng.standard_t(df=5, size=300) * 0.01 + rng.exponential(0.003, 300) - 0.002
    sr = r.mean() / r.std(ddof=1)
    skew, kurt = stats.skew(r, bias=True), stats.kurtosis(r, fisher=False, bias=True)
    for benchmark in (0.0, 0.05, -0.1):
        z = (sr - benchmark) * np.sqrt(r.size - 1) / np.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
        ours = probabilistic_sharpe(r, benchmark=benchmark)
        assert ours == pytest.approx(stats.norm.cdf(z), rel=1e-12)


def test_probabilistic_sharpe_is_a_calibrated_probability() -> None:
    # Where the true per-bar Sharpe equals the benchmark, PSR is about uniform on [0, 1]: it
    # exceeds 0.95 for about 5 % of samples (binomial sd of the share over 2000: 0.5 %).
    rng = np.random.default_rng(10)
    samples = rng.normal(0.002, 0.02, size=(2000, 250))  # true Sharpe 0.1 per bar
    psr = np.array([probabilistic_sharpe(r, benchmark=0.1) for r in samples])
    assert np.mean(psr > 0.95) == pytest.approx(0.05, abs=0.015)
    assert np.mean(psr > 0.5) == pytest.approx(0.5, abs=0.04)


def test_probabilistic_sharpe_grows_with_evidence() -> None:
    rng = np.random.default_rng(11)
    r = rng.normal(0.001, 0.01, 200)
    r += 0.001 - r.mean()  # a sample Sharpe of exactly 0.1 per bar
    values = [probabilistic_sharpe(np.tile(r, k)) for k in (1, 4, 16)]
    assert 0.5 < values[0] < values[1] < values[2] < 1.0
    assert probabilistic_sharpe(-r) == pytest.approx(1 - values[0], abs=0.02)  # skew flips too


@pytest.mark.parametrize("returns", [[], [0.01], [0.0] * 20, [0.002] * 5])
def test_probabilistic_sharpe_without_dispersion_is_zero(returns: list) -> None:
    # No evidence of skill: a strategy that never trades must not beat a weak real edge.
    assert probabilistic_sharpe(returns) == 0.0
    weak = np.random.default_rng(12).normal(0.0005, 0.01, 500)
    assert probabilistic_sharpe(weak) > probabilistic_sharpe(returns)


@pytest.mark.parametrize(
    ("returns", "benchmark"),
    [([0.01, np.nan, 0.0], 0.0), ([[0.01, 0.0], [0.02, 0.0]], 0.0), ([0.01, 0.0], np.inf)],
)
def test_probabilistic_sharpe_rejects_bad_input(returns: list, benchmark: float) -> None:
    with pytest.raises(ValueError):
        probabilistic_sharpe(returns, benchmark=benchmark)


def test_psr_of_the_backtest_is_frequency_free() -> None:
    pred, close, symbols = _two_symbols(13)
    minutes = backtest(pred, close, symbols, bars_per_year=72_000)
    days = backtest(pred, close, symbols, bars_per_year=252)
    assert minutes["psr"] == days["psr"] and minutes["sharpe"] != days["sharpe"]
    r = strategy_returns(pred, close, symbols)
    assert days["psr"] == probabilistic_sharpe(r)  # of the combined series
    assert days["by_symbol"]["MGC"]["psr"] == probabilistic_sharpe(r[symbols == "MGC"])


def test_sharpe_is_annualized_with_sample_std() -> None:
    r = [0.01, -0.02, 0.03, 0.005]
    expected = statistics.mean(r) / statistics.stdev(r) * 252**0.5
    assert sharpe_ratio(r, bars_per_year=252) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("returns", [[], [0.01], [0.0, 0.0, 0.0], [0.002] * 5])
def test_sharpe_is_zero_where_undefined(returns: list) -> None:
    assert sharpe_ratio(returns, bars_per_year=252) == 0.0


@pytest.mark.parametrize(
    ("returns", "expected"),
    [
        ([-0.1, 0.2, -0.5], 0.5),  # 0.9, 1.08, 0.54: half of the 1.08 peak
        ([-0.1], 0.1),  # the starting capital is a peak
        ([0.1, 0.1], 0.0),
        ([], 0.0),
    ],
)
def test_max_drawdown_hand_computed(returns: list, expected: float) -> None:
    assert max_drawdown(returns) == pytest.approx(expected, abs=1e-15)


# ----------------------------------------------------------------------------- bars per year


def _sessions_5min(weeks: int) -> pd.DatetimeIndex:
    """CME-like: Sunday 17:00 to Friday 16:00, a 16:00-17:00 break each day: 5 x 23 h a week."""
    bars = []
    for sunday in pd.date_range("2024-01-07", periods=weeks, freq="7D"):
        for day in range(5):
            open_ = sunday + pd.Timedelta(days=day, hours=17)
            bars.append(pd.date_range(open_, periods=23 * 12, freq="5min"))
    return bars[0].append(bars[1:])


def test_bars_per_year_hourly_24_7_is_exact() -> None:
    ts = pd.date_range("2024-01-01", periods=24 * 40, freq="h")
    assert bars_per_year(ts, ["X"] * ts.size) == pytest.approx(24 * 365.25, rel=1e-12)


@pytest.mark.parametrize("end", ["2019-04-05", "2023-12-29"])  # a quarter, five years
def test_bars_per_year_business_days(end: str) -> None:
    ts = pd.bdate_range("2019-01-07", end)  # Monday to Friday
    assert bars_per_year(ts, ["X"] * ts.size) == pytest.approx(365.25 * 5 / 7, rel=1e-12)


def test_bars_per_year_business_days_from_midweek() -> None:
    ts = pd.bdate_range("2019-01-09", "2019-06-13")  # Wednesday to Thursday
    assert bars_per_year(ts, ["X"] * ts.size) == pytest.approx(365.25 * 5 / 7, rel=1e-12)


def test_bars_per_year_business_days_with_holidays_is_about_252() -> None:
    ts = pd.bdate_range("2019-01-07", "2023-12-29")
    rng = np.random.default_rng(0)
    holidays = rng.choice(ts.size, size=9 * 5, replace=False)  # ~9 exchange holidays a year
    ts = ts.delete(holidays)
    assert bars_per_year(ts, ["X"] * ts.size) == pytest.approx(252, rel=0.01)


def test_bars_per_year_futures_sessions_5min() -> None:
    ts = _sessions_5min(weeks=26)
    truth = 5 * 23 * 12 * 365.25 / 7  # bars a week * weeks a year
    assert bars_per_year(ts, ["X"] * ts.size) == pytest.approx(truth, rel=1e-12)


def test_bars_per_year_under_a_week_uses_the_span() -> None:
    ts = pd.date_range("2024-01-01", periods=100, freq="15min")
    assert bars_per_year(ts, ["X"] * ts.size) == pytest.approx(4 * 24 * 365.25, rel=1e-12)


def test_bars_per_year_counts_each_symbol_over_its_own_span() -> None:
    # Months apart: the time between the symbols' rows is no one's.
    a = pd.date_range("2024-01-01", periods=500, freq="h")
    b = pd.date_range("2024-07-01", periods=300, freq="h")
    ts, symbols = a.append(b), ["A"] * 500 + ["B"] * 300
    assert bars_per_year(ts, symbols) == pytest.approx(24 * 365.25, rel=1e-12)


def test_bars_per_year_ignores_time_zones() -> None:
    ts = _sessions_5min(weeks=4)
    aware = ts.tz_localize("America/Chicago")
    assert bars_per_year(aware, ["X"] * ts.size) == pytest.approx(
        bars_per_year(aware.tz_convert("UTC").tz_localize(None), ["X"] * ts.size), rel=1e-12
    )


def test_bars_per_year_by_symbol_counts_each_symbol_alone() -> None:
    hourly = pd.date_range("2024-01-01", periods=24 * 30, freq="h")  # around the clock
    daily = pd.bdate_range("2024-01-01", periods=60)  # business days
    ts, symbols = hourly.append(daily), ["H"] * hourly.size + ["D"] * daily.size
    by_symbol = bars_per_year_by_symbol(ts, symbols)
    assert by_symbol == pytest.approx({"H": 24 * 365.25, "D": 365.25 * 5 / 7}, rel=1e-12)
    pooled = bars_per_year(ts, symbols)
    assert min(by_symbol.values()) < pooled < max(by_symbol.values())


def test_bars_per_year_by_symbol_needs_two_bars_of_each() -> None:
    ts = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"])
    with pytest.raises(ValueError, match="'B'"):
        bars_per_year_by_symbol(ts, ["A", "A", "B"])


def test_sharpe_with_bars_per_year_by_symbol() -> None:
    pred, close, symbols = _two_symbols(14)
    rates = {"MES": 72_000.0, "MGC": 252.0}
    m = backtest(pred, close, symbols, bars_per_year=rates)
    r = strategy_returns(pred, close, symbols)
    per_symbol = {
        s: np.mean(r[symbols == s]) / np.std(r[symbols == s], ddof=1) * np.sqrt(rates[s])
        for s in rates
    }
    for s, sharpe in per_symbol.items():
        assert m["by_symbol"][s]["sharpe"] == pytest.approx(sharpe, rel=1e-12)
    assert m["sharpe"] == pytest.approx((per_symbol["MES"] + per_symbol["MGC"]) / 2, rel=1e-12)
    pooled = backtest(pred, close, symbols, bars_per_year=252.0)
    annualized = ("sharpe", "buy_hold_sharpe", "by_symbol")
    assert {k: v for k, v in m.items() if k not in annualized} == {
        k: v for k, v in pooled.items() if k not in annualized
    }


def test_one_symbol_mapping_is_the_one_figure() -> None:
    pred, close, _ = _two_symbols(15)
    symbols = ["X"] * close.size
    assert backtest(pred, close, symbols, bars_per_year={"X": 500.0, "Y": 1.0}) == backtest(
        pred, close, symbols, bars_per_year=500.0
    )


def test_bars_per_year_mapping_must_cover_the_symbols() -> None:
    pred, close, symbols = _two_symbols(16)
    with pytest.raises(ValueError, match="MGC"):
        backtest(pred, close, symbols, bars_per_year={"MES": 252.0})


@pytest.mark.parametrize(
    ("timestamps", "symbols"),
    [
        (["2024-01-02", "2024-01-01"], ["X", "X"]),  # not increasing
        (["2024-01-01", "2024-01-01"], ["X", "X"]),
        (["2024-01-01", "2024-01-02"], ["X", "Y"]),  # no symbol with two bars
    ],
)
def test_bars_per_year_rejects_bad_timestamps(timestamps: list, symbols: list) -> None:
    with pytest.raises(ValueError):
        bars_per_year(pd.to_datetime(timestamps), symbols)


# ----------------------------------------------------------------------------- vectorbt


def _assert_same_metrics(ours: dict[str, Any], ref: dict[str, Any]) -> None:
    assert set(ours) == set(ref)
    for key, value in ours.items():
        if key == "by_symbol":
            assert set(value) == set(ref[key])
            for symbol in value:
                _assert_same_metrics(value[symbol], ref[key][symbol])
        elif value is None or ref[key] is None:
            assert value is None and ref[key] is None, key
        else:
            assert value == pytest.approx(ref[key], rel=1e-9, abs=1e-9), key


CASES = {
    "random": lambda rng, n: rng.integers(0, 3, n),
    "sticky": lambda rng, n: np.repeat(rng.integers(0, 3, n // 10 + 1), 10)[:n],
    "always_long": lambda rng, n: np.full(n, LONG),
    "always_short": lambda rng, n: np.full(n, SHORT),
    "never": lambda rng, n: np.full(n, FLAT),
    "reversals": lambda rng, n: np.resize([LONG, SHORT], n),
}


SPLITS = {
    # name: (positions, bars per year)
    "contiguous": lambda: (None, 5980.0),
    "holes": lambda: (_holes(), {"MES": 5980.0, "MGC": 252.0}),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("cost_bps", [0.0, 1.0, 10.0])
@pytest.mark.parametrize("split", sorted(SPLITS))
def test_numpy_backtest_equals_vectorbt(
    vbt: ModuleType, case: str, cost_bps: float, split: str
) -> None:
    rng = np.random.default_rng(len(case))
    _, close, symbols = _two_symbols(seed=int(cost_bps))
    pred = CASES[case](rng, close.size)
    positions, bpy = SPLITS[split]()
    kwargs = {"bars_per_year": bpy, "cost_bps": cost_bps, "positions": positions}
    ours = backtest(pred, close, symbols, **kwargs)
    ref = vectorbt_backtest(pred, close, symbols, **kwargs)
    _assert_same_metrics(ours, ref)


@pytest.mark.slow
def test_numpy_backtest_equals_vectorbt_on_a_trending_short(vbt: ModuleType) -> None:
    close = np.linspace(100.0, 160.0, 50)  # a short that loses 60 %
    pred = np.r_[np.full(25, SHORT), np.full(25, LONG)]
    symbols = ["X"] * 50
    ours = backtest(pred, close, symbols, bars_per_year=252, cost_bps=5.0)
    _assert_same_metrics(
        ours, vectorbt_backtest(pred, close, symbols, bars_per_year=252, cost_bps=5.0)
    )


@pytest.mark.slow
@pytest.mark.parametrize("split", sorted(SPLITS))
def test_numpy_returns_equal_vectorbt_returns_bar_for_bar(vbt: ModuleType, split: str) -> None:
    pred, close, symbols = _two_symbols(4)
    positions, bpy = SPLITS[split]()
    pfs = vectorbt_portfolios(
        pred, close, symbols, bars_per_year=bpy, cost_bps=3.0, positions=positions
    )
    ref = np.concatenate([pf.returns().to_numpy() for pf in pfs.values()])
    np.testing.assert_allclose(
        strategy_returns(pred, close, symbols, cost_bps=3.0, positions=positions), ref, atol=1e-12
    )
    # The combined account: each symbol starts with what the previous one ended with.
    assert pfs["MGC"].init_cash == pytest.approx(pfs["MES"].final_value(), rel=1e-15)


@pytest.mark.slow
def test_hourly_annualization_matches_vectorbt_calendar(vbt: ModuleType) -> None:
    # For 24/7 hourly bars vectorbt's own calendar annualization (1h bars, 365.25-day year)
    # is right, so bars_per_year from the timestamps must reproduce it.
    pred, close, symbols = _two_symbols(5)
    ts = pd.date_range("2024-01-01", periods=close.size, freq="h")
    bpy = bars_per_year(ts, symbols)
    ours = backtest(pred, close, symbols, bars_per_year=bpy)
    pfs = vectorbt_portfolios(pred, close, symbols, bars_per_year=bpy, timestamps=ts)
    for symbol, pf in pfs.items():
        native = pf.returns().vbt.returns(freq="1h", year_freq="365.25 days").sharpe_ratio()
        assert ours["by_symbol"][symbol]["sharpe"] == pytest.approx(native, rel=1e-9)
        assert pf.wrapper.index.equals(ts[symbols == symbol])


@pytest.mark.slow
def test_daily_annualization_matches_a_business_day_year(vbt: ModuleType) -> None:
    rng = np.random.default_rng(6)
    ts = pd.bdate_range("2020-01-06", "2023-12-29")
    close, pred, symbols = _walk(rng, ts.size, 100.0), rng.integers(0, 3, ts.size), ["X"] * ts.size
    bpy = bars_per_year(ts, symbols)
    ours = backtest(pred, close, symbols, bars_per_year=bpy)
    pf = vectorbt_portfolios(pred, close, symbols, bars_per_year=bpy, timestamps=ts)["X"]
    business_year = pd.Timedelta(days=365.25 * 5 / 7)  # business days a year, in days
    native = pf.returns().vbt.returns(freq="1D", year_freq=business_year).sharpe_ratio()
    assert ours["sharpe"] == pytest.approx(native, rel=0.005)
    metrics = vectorbt_metrics({"X": pf}, bars_per_year=bpy)
    assert metrics["sharpe"] == pytest.approx(ours["sharpe"], rel=1e-9)
    assert pf.get_returns_acc(year_freq=YEAR).sharpe_ratio() == pytest.approx(ours["sharpe"])


# --- the timing term: pays for when a position is held, not for the split's drift ------------


def _drifting(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two symbols over n bars each: one rising strongly (+0.2 % a bar), one falling."""
    rng = np.random.default_rng(seed)
    up = 0.002 + 0.01 * rng.standard_normal(n)
    down = -0.002 + 0.01 * rng.standard_normal(n)
    close = np.r_[100 * np.cumprod(1 + up), 50 * np.cumprod(1 + down)]
    return close, np.repeat(["UP", "DOWN"], n), np.r_[up, down]


@pytest.mark.parametrize("cls", [0, 1, 2], ids=["always-short", "always-flat", "always-long"])
def test_a_constant_position_gets_the_no_skill_timing_value_in_a_drifting_market(cls: int) -> None:
    close, symbols, _ = _drifting()
    holes = np.r_[np.arange(3000), np.arange(3100, 6100)]  # and a hole between the symbols
    for positions in (None, holes):
        m = backtest(
            np.full(close.size, cls), close, symbols, bars_per_year=252.0, positions=positions
        )
        assert m["timing_psr"] == pytest.approx(0.5, abs=1e-9)
        for s in ("UP", "DOWN"):
            assert m["by_symbol"][s]["timing_psr"] == pytest.approx(0.5, abs=1e-9)
        term = horizon_score(
            m | {"macro_f1": 0.0}, sharpe_weight=1.0, f1_weight=0.0, sharpe_term="timing"
        )
        assert term == pytest.approx(0.5, abs=1e-9)


def test_the_plain_psr_pays_always_long_for_the_drift_and_the_timing_term_does_not() -> None:
    close, symbols, _ = _drifting()
    up = symbols == "UP"
    m = backtest(np.full(int(up.sum()), 2), close[up], symbols[up], bars_per_year=252.0)
    assert m["psr"] > 0.99  # what a rising validation period pays an always-long rule
    assert m["timing_psr"] == pytest.approx(0.5, abs=1e-9)
    assert m["buy_hold_sharpe"] > 2  # reported beside the strategy's, per symbol too
    assert m["by_symbol"]["UP"]["buy_hold_sharpe"] == pytest.approx(m["buy_hold_sharpe"])


def test_real_timing_scores_above_no_skill_on_the_same_rows() -> None:
    close, symbols, returns = _drifting()
    rng = np.random.default_rng(1)
    nxt = np.r_[returns[1:], 0.0]  # the return of the bar after each row's close
    mean = np.where(symbols == "UP", 0.002, -0.002)
    right = rng.random(close.size) < 0.6  # right 60 % of the time about the next excess return
    pred = np.where((nxt > mean) == right, LONG, SHORT)
    m = backtest(pred, close, symbols, bars_per_year=252.0)
    assert m["timing_psr"] > 0.9
    wrong = backtest(2 - pred, close, symbols, bars_per_year=252.0)  # the opposite timing
    assert wrong["timing_psr"] < 0.1
