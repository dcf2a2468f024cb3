"""Backtest of the classifier's rule: numpy every epoch, vectorbt for export and tearsheets.

The rule (docs/contracts.md): at row i's close, predicted class 2 -> long, 0 -> short,
1 -> flat; the position is held to the next bar of the same symbol.

The simulation is the one ``vbt.Portfolio.from_signals(..., size=np.inf, fees=f)`` runs with
long and short signals, and the numpy code below reproduces it bar for bar (a test says so, to
1e-12 in practice):

- Sizing: entering puts all the equity in the position. The notional is equity / (1 + f), so
  that notional plus its fee f * notional is the equity; f = cost_bps / 1e4 per side.
- Holding: the position is held in units until the predicted class changes (no rebalancing).
  A long earns the bar's return r_t = close_t / close_{t-1} - 1 exactly. A short of notional N
  entered at price P_s is worth N * (2 - P_t / P_s): its bar return is
  -r_t * P_{t-1} / (2 P_s - P_{t-1}), which is -r_t when the price is still near its entry.
- Exiting pays f * the notional at exit (for a short: N * P_t / P_s). A reversal (long <-> short)
  is one order that pays both sides: the exit of the old position and the entry of the new one.
- End of a segment (a symbol, or a run of rows before a hole, see below): its last row is
  always flat. Its prediction is unused (it has no next bar in the segment), and the position
  still open is closed at that row's close, paying the exit fee there.
- Bookkeeping: equity is marked at every close, after that close's trades. The return of row t
  is equity_t / equity_{t-1} - 1: the move over the bar that ends at row t, on the position
  taken at row t-1, minus the fees paid at row t's close. The first row of a segment carries only
  its entry fee. This is vectorbt's ``Portfolio.returns()``. (Against the simpler
  "return_i = pos_i * r_i - f * |pos_i - pos_(i-1)|": the move is booked one row later, a short
  drifts as above, and an entry costs 1 - 1 / (1 + f) = f - f^2 + ... instead of f.)

Segments: rows come grouped by symbol. Without `positions`, consecutive rows of a symbol are
taken to be consecutive bars. With `positions` (each row's integer position in the full frame), a
new segment also starts wherever ``positions[i] != positions[i-1] + 1``: a hole in the split (rows
dropped, a purge, a gap between blocks). Each segment is backtested like a symbol of its own: its
last row is flat, so no return ever spans a symbol seam or a hole (the move over the hole is
never held), and the first row after the hole carries only its entry fee. The combined track
record is the segments' bar returns laid end to end, in row order: as if one account traded the
first symbol's rows, then, with what it ended with, the next symbol's. Every combined metric is a
metric of that one series and of the pooled trades; ``by_symbol`` gives each symbol's alone.

Metrics (plain Python numbers):

- ``sharpe``: mean / std (ddof=1) of the bar returns * sqrt(bars_per_year), risk-free rate 0:
  vectorbt's ``sharpe_ratio``. 0.0 when it is undefined (fewer than 2 bars, or all bar returns
  equal, e.g. never in the market), where vectorbt gives NaN or inf. `bars_per_year` is one
  figure or one per symbol (``bars_per_year_by_symbol``). One figure: the combined Sharpe is the
  Sharpe of the combined series. Per symbol: each symbol's Sharpe is annualized with its own
  figure, and the combined Sharpe is the mean of the symbols' annualized Sharpes (each symbol
  counts once; bars of different lengths cannot share one annualization factor).
- ``psr``: the probabilistic Sharpe ratio of the bar returns (``probabilistic_sharpe``): the
  probability that the true per-bar Sharpe exceeds 0, in [0, 1], free of any bar frequency. The
  combined figure is the PSR of the combined series (all the rows are evidence); 0.0 for a
  series without dispersion (never in the market).
- ``timing_psr``: the PSR of the timing returns, the position held over each bar times the
  bar's simple return minus its symbol's mean bar return over the split's rows (gross of costs):
  what the strategy earned beyond riding the split's drift. 0.5 for any constant position (and
  for a series without dispersion), above it only for a position that moves with the returns.
- ``buy_hold_sharpe``: annualized Sharpe of holding each symbol long over the same rows (the
  combined figure as ``sharpe``'s): what a strategy Sharpe is read against.
- ``max_drawdown``: largest fall from a running peak of equity, as a positive fraction
  (0.2 = 20 % below the peak); the starting capital counts as a peak, so a loss on the first row
  is a drawdown (vectorbt's returns-based drawdown starts at the first row's equity instead).
- ``total_return``: final equity / starting capital - 1.
- ``n_trades``: positions opened and closed (vectorbt's exit trades; with no accumulation each is
  one position). A reversal closes one trade and opens another.
- ``win_rate``: share of trades whose PnL after both fees is > 0; None when there is no trade.
- ``profit_factor``: sum of winning trades' PnL / |sum of losing trades' PnL|; None when no trade
  lost (vectorbt gives inf or NaN). PnL in money, on the combined account.
- ``exposure``: share of rows after whose close a position is held.
- ``n_bars``: rows.

A short that loses all its equity (the price doubling while short) is not modeled: returns then
fall below -100 %. Prices of bars of micro futures do not do that within a split.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from harness.metrics._names import (
    BUY_HOLD_SHARPE,
    BY_SYMBOL,
    EXPOSURE,
    MAX_DRAWDOWN,
    N_BARS,
    N_TRADES,
    PROFIT_FACTOR,
    PSR,
    SHARPE,
    TIMING_PSR,
    TOTAL_RETURN,
    WIN_RATE,
)
from harness.metrics.classification import as_class_indices

if TYPE_CHECKING:
    from vectorbt import Portfolio

DEFAULT_COST_BPS = 1.0
"""Cost per side, in basis points of the traded notional. Micro futures (MES ~ $25k notional at
5000 points, MGC ~ $25k at $2500/oz): commission plus exchange and NFA fees come to about
$0.85 per contract per side (~0.35 bp), half of the one-tick spread to about 0.25 bp (MES:
$1.25 / 2), and 1 bp leaves some room for slippage on market orders at the close."""

YEAR = pd.Timedelta(days=365.25).as_unit("ns")
"""The calendar year that bars per year are counted over (and vectorbt's ``year_freq``)."""

BarsPerYear: TypeAlias = float | Mapping[str, float]
"""One figure for every symbol, or one per symbol (``bars_per_year_by_symbol``)."""

_WEEK_NS = pd.Timedelta(weeks=1).value
_POSITION = np.array([-1.0, 0.0, 1.0])  # class index -> position: 0 short, 1 flat, 2 long
_NORMAL = NormalDist()


# ----------------------------------------------------------------------------- inputs


def _symbol_blocks(symbols: ArrayLike, n: int) -> list[tuple[str, int, int]]:
    """(symbol, start, stop) of each run of equal symbols; ValueError if a symbol comes back."""
    sym = np.asarray(symbols)
    if sym.ndim != 1 or sym.size != n:
        raise ValueError(f"symbols must be 1-D with one entry per row ({n}), got shape {sym.shape}")
    if n == 0:
        return []
    starts = np.flatnonzero(np.r_[True, sym[1:] != sym[:-1]])
    stops = np.r_[starts[1:], n]
    names = [str(s) for s in sym[starts]]
    if len(set(names)) != len(names):
        again = next(s for i, s in enumerate(names) if s in names[:i])
        raise ValueError(
            f"rows must be grouped by symbol, but symbol {again!r} comes back after another one"
        )
    return list(zip(names, starts.tolist(), stops.tolist(), strict=True))


def _segment_starts(
    blocks: list[tuple[str, int, int]], positions: ArrayLike | None, n: int
) -> np.ndarray:
    """[N] bool, True at the first row of each segment: of each symbol and, with `positions`,
    after each hole (``positions[i] != positions[i-1] + 1``). ValueError if positions do not
    increase within a symbol (rows out of time order)."""
    first = np.zeros(n, dtype=bool)
    first[[start for _, start, _ in blocks]] = True
    if positions is None:
        return first
    pos = np.asarray(positions)
    if pos.ndim != 1 or pos.size != n:
        raise ValueError(
            f"positions must be 1-D with one entry per row ({n}), got shape {pos.shape}"
        )
    if pos.dtype.kind not in "iu":
        raise ValueError(f"positions must be integer frame positions, got dtype {pos.dtype}")
    step = np.diff(pos.astype(np.int64))
    back = np.flatnonzero((step <= 0) & ~first[1:]) + 1
    if back.size:
        i = int(back[0])
        raise ValueError(
            f"positions must increase within a symbol: row {i} (position {pos[i]}) follows "
            f"row {i - 1} (position {pos[i - 1]})"
        )
    first[1:] |= step != 1
    return first


def _prices(close: ArrayLike) -> np.ndarray:
    out = np.asarray(close, dtype=np.float64)
    if out.ndim != 1:
        raise ValueError(f"close must be 1-D, got shape {out.shape}")
    bad = np.flatnonzero(~np.isfinite(out) | (out <= 0))
    if bad.size:
        raise ValueError(f"close must be finite and > 0; rows {bad[:5].tolist()} are not")
    return out


def _sides(pred_class: ArrayLike, n: int) -> np.ndarray:
    """[N] float64 market side of each row's prediction: -1 short, 0 flat, +1 long."""
    pred = as_class_indices(pred_class, n_classes=3, name="pred_class")
    if pred.size != n:
        raise ValueError(f"pred_class has {pred.size} rows, close has {n}")
    return _POSITION[pred]


def _datetime_index(timestamps: ArrayLike) -> pd.DatetimeIndex:
    # cast: pandas-stubs' DatetimeIndex takes less than numpy's ArrayLike, which also admits
    # scalars (DatetimeIndex refuses those at run time, as before).
    return pd.DatetimeIndex(cast(Any, timestamps))


def _fee(cost_bps: float) -> float:
    if not (np.isfinite(cost_bps) and cost_bps >= 0):
        raise ValueError(f"cost_bps must be finite and >= 0, got {cost_bps}")
    return cost_bps / 1e4


def _bar_rate(bars_per_year: float) -> float:
    if not (np.isfinite(bars_per_year) and bars_per_year > 0):
        raise ValueError(f"bars_per_year must be finite and > 0, got {bars_per_year}")
    return float(bars_per_year)


def _symbol_rates(
    bars_per_year: BarsPerYear, names: list[str]
) -> tuple[float | None, dict[str, float]]:
    """(the one figure, or None when given per symbol; each symbol's figure)."""
    if isinstance(bars_per_year, Mapping):
        missing = [s for s in names if s not in bars_per_year]
        if missing:
            raise ValueError(
                f"bars_per_year has no figure for symbols {missing} (has {sorted(bars_per_year)})"
            )
        return None, {s: _bar_rate(bars_per_year[s]) for s in names}
    rate = _bar_rate(bars_per_year)
    return rate, dict.fromkeys(names, rate)


def _mean_sharpe(by_symbol: Mapping[str, Mapping[str, Any]]) -> float:
    """The combined Sharpe under per-symbol bars per year: the mean of the symbols' Sharpes."""
    return float(np.mean([m[SHARPE] for m in by_symbol.values()])) if by_symbol else 0.0


# ----------------------------------------------------------------------------- bars per year


def _weekly_bars(timestamps: ArrayLike, symbols: ArrayLike) -> dict[str, tuple[int, int]]:
    """Per symbol: (bars, span in ns) counted over the whole weeks from its first bar, or over its
    n - 1 intervals when it spans less than a week (see bars_per_year); (0, 0) for one bar."""
    ns = _datetime_index(timestamps).as_unit("ns").asi8
    out: dict[str, tuple[int, int]] = {}
    for name, start, stop in _symbol_blocks(symbols, ns.size):
        t = ns[start:stop]
        if np.any(np.diff(t) <= 0):
            raise ValueError(f"timestamps of symbol {name!r} must be strictly increasing")
        if t.size < 2:
            out[name] = 0, 0
            continue
        weeks = int(t[-1] - t[0]) // _WEEK_NS
        if weeks:
            # the bars in the whole weeks, and their time
            out[name] = int(np.searchsorted(t, t[0] + weeks * _WEEK_NS)), weeks * _WEEK_NS
        else:
            out[name] = t.size - 1, int(t[-1] - t[0])
    return out


def bars_per_year(timestamps: ArrayLike, symbols: ArrayLike) -> float:
    """Bars per calendar year (365.25 days) that the timestamps show, pooled over symbols.

    Market schedules repeat weekly, so each symbol contributes the bars of the whole weeks that
    start at its first bar, and the time of those weeks: ``sum(bars_s) / sum(weeks_s) * 1 year``
    (a symbol spanning less than a week contributes its n - 1 bar intervals and its span).
    Weekends, holidays and session breaks are in the weeks, so this is the count of bars a year
    of this market actually has: ~261 for daily business-day bars (~252 with exchange
    holidays), 8766 for hourly 24/7 bars, ~72,000 for 5-minute bars of a 23-hour futures session
    five days a week; exact for any schedule that repeats weekly. Whole weeks keep a split that
    ends on a Friday from dropping the weekend after it (which overstates the rate by about
    2 / (7 * weeks)). Counting bars per calendar date instead would break on sessions that cross
    midnight (a Sunday-evening futures open would count as a trading day).

    `timestamps`: anything ``pandas.DatetimeIndex`` accepts (tz-aware is fine), strictly
    increasing within each symbol; rows grouped by symbol. Pass the rows of the splits a model
    may see (train and val), never the test split's. Symbols whose bars differ in length are
    better served by ``bars_per_year_by_symbol``.
    """
    counts = _weekly_bars(timestamps, symbols)
    bars = sum(b for b, _ in counts.values())
    if bars == 0:
        raise ValueError("bars_per_year needs a symbol with at least two bars")
    span = sum(t for _, t in counts.values())
    return bars / (span / YEAR.value)


def bars_per_year_by_symbol(timestamps: ArrayLike, symbols: ArrayLike) -> dict[str, float]:
    """Bars per calendar year of each symbol, from its own timestamps (rule of ``bars_per_year``).

    For ``backtest(..., bars_per_year=...)``: each symbol's Sharpe is then annualized with its
    own figure. Pass the timestamps of the train and val rows only (never the test split's): the
    figure is part of the score that selects models. ValueError if a symbol has fewer than two
    bars (its bar length is unknown).
    """
    counts = _weekly_bars(timestamps, symbols)
    few = [name for name, (bars, _) in counts.items() if bars == 0]
    if few:
        raise ValueError(f"symbols {few} have fewer than two bars: their bars per year are unknown")
    return {name: bars / (span / YEAR.value) for name, (bars, span) in counts.items()}


# ----------------------------------------------------------------------------- numpy backtest


@dataclass(frozen=True)
class _Book:
    """Result of one simulation over all rows (see the module docstring)."""

    returns: np.ndarray  # [N] float64 bar returns of the combined account
    position: np.ndarray  # [N] float64 position held after each row's close: -1, 0, +1
    blocks: list[tuple[str, int, int]]  # (symbol, start, stop)
    entry_row: np.ndarray  # [T] int64 row of each trade's entry, in row order
    pnl: np.ndarray  # [T] float64 PnL of each trade after fees, starting capital = 1
    held: np.ndarray  # [N] float64 position held over the bar that ends at each row
    bar_returns: np.ndarray  # [N] float64 close-to-close return, 0 where a segment starts
    first: np.ndarray  # [N] bool: the row starts a segment (a symbol's first, after a hole)


def _simulate(
    pred_class: ArrayLike,
    close: ArrayLike,
    symbols: ArrayLike,
    positions: ArrayLike | None,
    f: float,
) -> _Book:
    price = _prices(close)
    n = price.size
    pos = _sides(pred_class, n)
    blocks = _symbol_blocks(symbols, n)
    rows = np.arange(n)
    first = _segment_starts(blocks, positions, n)
    last = np.r_[first[1:], True]

    pos[last] = 0.0  # the open position is closed at the segment's last close
    prev = np.empty(n)  # position held over the bar that ends at row t
    prev[:1] = 0.0
    prev[1:] = pos[:-1]
    prev[first] = 0.0
    change = pos != prev
    opened = np.maximum.accumulate(np.where(change, rows, 0))  # row the position after t opened
    entry_price = price[np.r_[0, opened[:-1]]]  # of the position held over the bar ending at t
    prev_price = np.r_[price[0], price[:-1]]

    long, short = prev > 0, prev < 0
    growth = np.ones(n)  # equity before row t's trades / equity after row t-1's
    growth[long] = price[long] / prev_price[long]
    x = price[short] / entry_price[short]
    growth[short] = (2.0 - x) / (2.0 - prev_price[short] / entry_price[short])
    held = np.ones(n)  # |notional / equity| of the held position at row t's close, before trading
    held[short] = x / (2.0 - x)
    exit_factor = np.where(change & (prev != 0), 1.0 - f * held, 1.0)
    entry_factor = np.where(change & (pos != 0), 1.0 / (1.0 + f), 1.0)
    factor = growth * exit_factor * entry_factor
    equity = np.cumprod(factor)

    entries = np.flatnonzero(change & (pos != 0))
    exits = np.flatnonzero(change & (prev != 0))  # same count: every position gets closed
    ratio = price[exits] / price[entries]
    pnl_per_notional = pos[entries] * (ratio - 1.0) - f * (1.0 + ratio)
    # Right after an entry the whole equity is the notional (weight 1).
    pnl = pnl_per_notional * equity[entries]
    bar_returns = np.where(first, 0.0, price / prev_price - 1.0)
    return _Book(factor - 1.0, pos, blocks, entries, pnl, prev, bar_returns, first)


def _timing_returns(book: _Book) -> np.ndarray:
    """[N] position held x (bar return - its symbol's mean bar return over the split's rows)."""
    out = np.zeros(book.returns.size)
    for _, start, stop in book.blocks:
        moved = ~book.first[start:stop]  # the bars a position could be held over
        bars = book.bar_returns[start:stop]
        drift = float(bars[moved].mean()) if moved.any() else 0.0
        out[start:stop] = np.where(moved, book.held[start:stop] * (bars - drift), 0.0)
    return out


def timing_returns(
    pred_class: ArrayLike,
    close: ArrayLike,
    symbols: ArrayLike,
    *,
    positions: ArrayLike | None = None,
) -> np.ndarray:
    """[N] the series ``timing_psr`` is of: the position held over each bar times the bar
    return in excess of its symbol's mean bar return over these rows, gross of costs."""
    return _timing_returns(_simulate(pred_class, close, symbols, positions, 0.0))


def timing_psr(returns: ArrayLike) -> float:
    """``probabilistic_sharpe`` of timing returns, 0.5 (no skill) where they have no dispersion.

    A constant position's timing returns have mean 0 up to rounding (about 1e-17 of their
    standard deviation), so their PSR is 0.5 to within 1e-12."""
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2 or np.ptp(r) == 0:
        return 0.5
    return probabilistic_sharpe(r)


def sharpe_ratio(returns: ArrayLike, *, bars_per_year: float) -> float:
    """Annualized Sharpe of bar returns: mean / std(ddof=1) * sqrt(bars_per_year).

    0.0 when undefined: fewer than two bars, or all bar returns equal (vectorbt: NaN / inf).
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2 or np.ptp(r) == 0:
        return 0.0
    return float(r.mean() / r.std(ddof=1) * np.sqrt(_bar_rate(bars_per_year)))


def probabilistic_sharpe(returns: ArrayLike, *, benchmark: float = 0.0) -> float:
    """Probabilistic Sharpe ratio: the probability in [0, 1] that the true per-bar Sharpe ratio
    of the process behind `returns` exceeds `benchmark` (per bar), given the sample's length,
    skewness and kurtosis.

    Bailey, D. H. and López de Prado, M. (2012), "The Sharpe Ratio Efficient Frontier", Journal
    of Risk 15 (2), 3-44:

        PSR = Z((SR - benchmark) * sqrt(n - 1) / sqrt(1 - skew * SR + (kurtosis - 1) / 4 * SR^2))

    with SR = mean / std (ddof=1) of the n bar returns, skew and kurtosis the biased sample
    moments (kurtosis not excess: 3 for normal returns), Z the standard normal CDF; the same
    convention as vectorbt's ``deflated_sharpe_ratio``. Nothing is annualized: the same bar
    returns give the same PSR whether the bars are 5 minutes or a day long.

    0.0 when the returns have no dispersion (fewer than two bars, or all equal: a strategy that
    never trades): such a series gives no evidence that the Sharpe ratio exceeds anything (a flat
    account's Sharpe ratio is 0, not above 0). 0.5, the other candidate, would rank a model that
    never trades above every real but weak edge whose PSR a short validation leaves under 0.5.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1:
        raise ValueError(f"returns must be 1-D, got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("returns must be finite")
    if not math.isfinite(benchmark):
        raise ValueError(f"benchmark must be finite, got {benchmark}")
    if r.size < 2 or np.ptp(r) == 0:
        return 0.0
    centered = r - r.mean()
    m2 = float(np.mean(centered**2))
    sr = float(r.mean() / r.std(ddof=1))
    skew = float(np.mean(centered**3)) / m2**1.5
    kurtosis = float(np.mean(centered**4)) / m2**2
    # >= (1 - skew * sr / 2)^2 >= 0, since kurtosis >= 1 + skew^2 for any sample
    spread = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr**2
    z = (sr - benchmark) * math.sqrt(r.size - 1) / math.sqrt(max(spread, 1e-300))
    return _NORMAL.cdf(z)


def max_drawdown(returns: ArrayLike) -> float:
    """Largest fall of equity from its running peak, as a positive fraction; the starting
    capital counts as a peak. 0.0 for no bars."""
    r = np.asarray(returns, dtype=np.float64)
    if r.size == 0:
        return 0.0
    equity = np.cumprod(1.0 + r)
    peak = np.maximum.accumulate(np.maximum(equity, 1.0))
    return float(np.max(1.0 - equity / peak))


def _trade_stats(pnl: np.ndarray) -> dict[str, Any]:
    gross_win = float(pnl[pnl > 0].sum())
    gross_loss = float(-pnl[pnl < 0].sum())
    return {
        N_TRADES: int(pnl.size),
        WIN_RATE: float(np.mean(pnl > 0)) if pnl.size else None,
        PROFIT_FACTOR: gross_win / gross_loss if gross_loss > 0 else None,
    }


def _series_stats(
    returns: np.ndarray, in_market: np.ndarray, pnl: np.ndarray, *, sharpe: float
) -> dict[str, Any]:
    return {
        SHARPE: sharpe,
        PSR: probabilistic_sharpe(returns),
        MAX_DRAWDOWN: max_drawdown(returns),
        TOTAL_RETURN: float(np.prod(1.0 + returns) - 1.0),
        **_trade_stats(pnl),
        EXPOSURE: float(np.mean(in_market)) if in_market.size else 0.0,
        N_BARS: int(returns.size),
    }


def strategy_returns(
    pred_class: ArrayLike,
    close: ArrayLike,
    symbols: ArrayLike,
    *,
    cost_bps: float = DEFAULT_COST_BPS,
    positions: ArrayLike | None = None,
) -> np.ndarray:
    """Bar returns [N] of the combined account (the series every combined metric is of).

    `positions`: int [N], each row's position in the full frame; a hole (a jump other than +1)
    ends a segment, so no return is booked across it (module docstring). Without it, consecutive
    rows of a symbol are taken to be consecutive bars: pass it for any split with holes.
    """
    return _simulate(pred_class, close, symbols, positions, _fee(cost_bps)).returns


def backtest(
    pred_class: ArrayLike,
    close: ArrayLike,
    symbols: ArrayLike,
    *,
    bars_per_year: BarsPerYear,
    cost_bps: float = DEFAULT_COST_BPS,
    positions: ArrayLike | None = None,
) -> dict[str, Any]:
    """Backtest predicted classes [N] on close prices [N] of the symbols [N] (module docstring).

    Returns ``{sharpe, psr, max_drawdown, total_return, n_trades, win_rate, profit_factor,
    exposure, n_bars, by_symbol: {symbol: the same without by_symbol}}``.
    `bars_per_year` annualizes Sharpe: one figure (``bars_per_year(timestamps, symbols)``), or a
    mapping symbol -> figure (``bars_per_year_by_symbol``), which annualizes each symbol with its
    own and makes the combined Sharpe the mean of the symbols' Sharpes. Compute it from the train
    and val timestamps, never the test split's.
    `positions`: int [N] frame positions of the rows; a hole starts a new segment, as a symbol
    seam does (``strategy_returns``).
    """
    book = _simulate(pred_class, close, symbols, positions, _fee(cost_bps))
    pooled, rates = _symbol_rates(bars_per_year, [name for name, _, _ in book.blocks])
    in_market = book.position != 0
    by_symbol = {}
    for name, start, stop in book.blocks:
        lo, hi = np.searchsorted(book.entry_row, [start, stop])
        returns = book.returns[start:stop]
        by_symbol[name] = _series_stats(
            returns,
            in_market[start:stop],
            book.pnl[lo:hi],
            sharpe=sharpe_ratio(returns, bars_per_year=rates[name]),
        )
    if pooled is None:
        sharpe = _mean_sharpe(by_symbol)
    else:
        sharpe = sharpe_ratio(book.returns, bars_per_year=pooled)
    out = _series_stats(book.returns, in_market, book.pnl, sharpe=sharpe)
    out[BY_SYMBOL] = by_symbol
    return merge_timing(out, _timing(book, bars_per_year))


def timing_metrics(
    pred_class: ArrayLike,
    close: ArrayLike,
    symbols: ArrayLike,
    *,
    bars_per_year: BarsPerYear,
    positions: ArrayLike | None = None,
) -> dict[str, Any]:
    """``{timing_psr, buy_hold_sharpe, by_symbol: {symbol: the same}}`` of the predicted
    classes (module docstring): the part of ``backtest`` that no vectorbt portfolio reports."""
    return _timing(_simulate(pred_class, close, symbols, positions, 0.0), bars_per_year)


def _timing(book: _Book, bars_per_year: BarsPerYear) -> dict[str, Any]:
    pooled, rates = _symbol_rates(bars_per_year, [name for name, _, _ in book.blocks])
    timing = _timing_returns(book)
    by_symbol = {
        name: {
            TIMING_PSR: timing_psr(timing[start:stop]),
            BUY_HOLD_SHARPE: sharpe_ratio(book.bar_returns[start:stop], bars_per_year=rates[name]),
        }
        for name, start, stop in book.blocks
    }
    if pooled is None:
        held = float(np.mean([s[BUY_HOLD_SHARPE] for s in by_symbol.values()]))
    else:
        held = sharpe_ratio(book.bar_returns, bars_per_year=pooled)
    return {TIMING_PSR: timing_psr(timing), BUY_HOLD_SHARPE: held, BY_SYMBOL: by_symbol}


# ----------------------------------------------------------------------------- vectorbt


def bar_freq(bars_per_year: float) -> pd.Timedelta:
    """The bar length to give vectorbt (``freq``) so that its annualization factor
    ``year_freq / freq`` is `bars_per_year` when ``year_freq = YEAR``. vectorbt's own default
    (365-day year over the nominal bar length) overstates Sharpe for markets that close."""
    return YEAR / _bar_rate(bars_per_year)


def vectorbt_portfolios(
    pred_class: ArrayLike,
    close: ArrayLike,
    symbols: ArrayLike,
    *,
    bars_per_year: BarsPerYear,
    cost_bps: float = DEFAULT_COST_BPS,
    timestamps: ArrayLike | None = None,
    init_cash: float = 1.0,
    positions: ArrayLike | None = None,
) -> dict[str, Portfolio]:
    """One ``vbt.Portfolio`` per symbol, running the simulation of the module docstring.

    Each symbol's portfolio starts with the cash the previous one ended with (the combined
    account); the first starts with `init_cash`. With `timestamps` the portfolios are indexed by
    them (for plots), else by row number. ``freq`` is set to ``bar_freq`` of the symbol's bars
    per year (one figure, or its entry of a per-symbol mapping); pass ``year_freq=YEAR``
    wherever vectorbt annualizes (``pf.stats(settings=dict(year_freq=YEAR))``,
    ``pf.get_returns_acc(year_freq=YEAR)``). With `positions`, the position is closed at the last
    row before each hole, so the portfolio is flat over the hole and books nothing across it.
    """
    import vectorbt as vbt  # slow to import (~10 s): only where vectorbt is wanted

    f = _fee(cost_bps)
    price = _prices(close)
    n = price.size
    pos = _sides(pred_class, n)
    blocks = _symbol_blocks(symbols, n)
    last = np.r_[_segment_starts(blocks, positions, n)[1:], True]
    _, rates = _symbol_rates(bars_per_year, [name for name, _, _ in blocks])
    stamps = None if timestamps is None else _datetime_index(timestamps)
    if stamps is not None and stamps.size != n:
        raise ValueError(f"timestamps has {stamps.size} rows, close has {n}")

    portfolios: dict[str, Portfolio] = {}
    cash = float(init_cash)
    for name, start, stop in blocks:
        index = pd.RangeIndex(stop - start) if stamps is None else stamps[start:stop]
        p = pos[start:stop].copy()
        p[last[start:stop]] = 0.0  # closed at the last close of the symbol and before each hole
        pf = vbt.Portfolio.from_signals(
            pd.Series(price[start:stop], index=index, name=name),
            entries=p > 0,
            exits=p == 0,
            short_entries=p < 0,
            short_exits=p == 0,
            size=np.inf,  # all the equity, fee included
            size_type="amount",
            accumulate=False,
            upon_opposite_entry="reverse",  # long <-> short in one order
            fees=f,
            init_cash=cash,
            freq=bar_freq(rates[name]),
        )
        cash = float(pf.final_value())
        portfolios[name] = pf
    return portfolios


def _finite_or_none(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _finite(value: Any) -> float:
    """`value` as a float, 0.0 where vectorbt gives NaN or inf (no dispersion, no trade)."""
    finite = _finite_or_none(value)
    return 0.0 if finite is None else finite


def vectorbt_metrics(
    portfolios: Mapping[str, Portfolio], *, bars_per_year: BarsPerYear
) -> dict[str, Any]:
    """The metric dict of ``backtest``, computed by vectorbt from ``vectorbt_portfolios``
    (which carry any holes: their positions are closed before each one).

    `bars_per_year`: as given to ``vectorbt_portfolios``; a per-symbol mapping makes the combined
    Sharpe the mean of the symbols' Sharpes, as in ``backtest``.
    """
    pooled, rates = _symbol_rates(bars_per_year, list(portfolios))

    def returns_acc(values: np.ndarray, rate: float | None = None) -> Any:
        # freq only matters where vectorbt annualizes (Sharpe): None elsewhere
        freq = None if rate is None else bar_freq(rate)
        return pd.Series(values).vbt.returns(freq=freq, year_freq=YEAR)

    def drawdown(values: np.ndarray) -> float:
        # A leading zero return puts the starting capital in as the first peak.
        return -float(returns_acc(np.r_[0.0, values]).max_drawdown())

    def psr(values: np.ndarray) -> float:
        # vectorbt's deflated Sharpe ratio with a benchmark SR0 of 0 (no spread of trials' Sharpe
        # ratios) is the probabilistic Sharpe ratio; nb_trials=2 only keeps its SR0 formula
        # finite (one trial gives 0 * -inf). NaN for returns without dispersion: 0.0 as ours.
        return _finite(returns_acc(values, 1.0).deflated_sharpe_ratio(var_sharpe=0.0, nb_trials=2))

    by_symbol, all_returns, all_in_market, all_pnl = {}, [], [], []
    for name, pf in portfolios.items():
        returns = pf.returns().to_numpy()
        in_market = pf.position_mask().to_numpy()
        trades = pf.trades
        if int(trades.closed.count()) != int(trades.count()):
            raise ValueError(f"portfolio of {name!r} ends with an open position")
        by_symbol[name] = {
            SHARPE: _finite(returns_acc(returns, rates[name]).sharpe_ratio()),
            PSR: psr(returns),
            MAX_DRAWDOWN: drawdown(returns),
            TOTAL_RETURN: float(pf.total_return()),
            N_TRADES: int(trades.count()),
            WIN_RATE: _finite_or_none(trades.win_rate()),
            PROFIT_FACTOR: _finite_or_none(trades.profit_factor()),
            EXPOSURE: float(pf.position_coverage()),
            N_BARS: int(returns.size),
        }
        all_returns.append(returns)
        all_in_market.append(in_market)
        all_pnl.append(trades.pnl.values)

    returns = np.concatenate(all_returns) if all_returns else np.empty(0)
    pnl = np.concatenate(all_pnl) if all_pnl else np.empty(0)
    if pooled is None:
        sharpe = _mean_sharpe(by_symbol)
    else:
        sharpe = _finite(returns_acc(returns, pooled).sharpe_ratio())
    out = {
        SHARPE: sharpe,
        PSR: psr(returns),
        MAX_DRAWDOWN: drawdown(returns),
        TOTAL_RETURN: float(returns_acc(returns).total()),
        **_trade_stats(pnl),
        EXPOSURE: float(np.mean(np.concatenate(all_in_market))) if returns.size else 0.0,
        N_BARS: int(returns.size),
        BY_SYMBOL: by_symbol,
    }
    return out


def vectorbt_backtest(
    pred_class: ArrayLike,
    close: ArrayLike,
    symbols: ArrayLike,
    *,
    bars_per_year: BarsPerYear,
    cost_bps: float = DEFAULT_COST_BPS,
    positions: ArrayLike | None = None,
) -> dict[str, Any]:
    """``backtest`` computed by vectorbt: ``vectorbt_metrics(vectorbt_portfolios(...))``, with
    ``timing_metrics`` (which no portfolio reports) merged in."""
    portfolios = vectorbt_portfolios(
        pred_class,
        close,
        symbols,
        bars_per_year=bars_per_year,
        cost_bps=cost_bps,
        positions=positions,
    )
    out = vectorbt_metrics(portfolios, bars_per_year=bars_per_year)
    return merge_timing(
        out,
        timing_metrics(
            pred_class, close, symbols, bars_per_year=bars_per_year, positions=positions
        ),
    )


def merge_timing(metrics: dict[str, Any], timing: dict[str, Any]) -> dict[str, Any]:
    """`metrics` (a backtest's) with `timing` (``timing_metrics``) merged in, per symbol too."""
    merged = {**metrics, **{k: v for k, v in timing.items() if k != BY_SYMBOL}}
    merged[BY_SYMBOL] = {
        name: {**figures, **timing[BY_SYMBOL].get(name, {})}
        for name, figures in metrics[BY_SYMBOL].items()
    }
    return merged
