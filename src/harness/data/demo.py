"""A synthetic Phase 1 dataset: 5-minute micro futures bars with a planted, learnable signal.

``make_demo(out)`` writes exactly the input contract (docs/contracts.md)::

    out/data/final/{SYMBOL}_final_labeled.parquet    one file per symbol (MES, MGC by default)
    out/config/splits/{train,val,test}_indices.npy   int64 positions into the combined frame

The combined frame is the per-symbol files concatenated in sorted symbol order.

Bars
----
``timestamp`` is the bar's open time, tz-aware UTC. Sessions follow CME Globex in EST (no DST, no
holidays): Sunday 23:00 UTC to Friday 22:00 UTC, with a daily one-hour maintenance break 22:00-23:00
UTC, i.e. 276 five-minute bars per trading day and weekend gaps. ``days`` counts trading days
(Monday-Friday) from Monday 2024-01-08.

Per bar t, with deterministic intraday seasonality ``s(t)`` (quiet Asian hours, a bump at the
London open, a spike at the US open 14:30 UTC decaying to midday, a ramp into the 21:00 UTC cash
close; normalized to mean s^2 = 1), GARCH(1,1) variance ``g_t`` (alpha 0.05, beta 0.94,
unconditional 1) and Student-t innovations ``e_t`` (5 degrees of freedom, unit variance)::

    sigma_t = base_vol * s(t) * sqrt(g_t)
    r_t     = sigma_t * (SIGNAL * flow_{t-1} + e_t)        log return of bar t (open -> close)

The open of a bar is the previous close, except after a session break, where a gap return
(variance of 6 bars after the daily break, 24 bars after a weekend) is added. Highs and lows are
drawn from the Brownian-bridge maximum/minimum between open and close with the bar's variance, so
high >= max(open, close) and low <= min(open, close); prices are rounded to the symbol's tick.
Volume scales with sigma_t (so it is U-shaped intraday and clusters with volatility) times
log-normal noise. Each symbol has its own price level, volatility, tick and volume (MES ~5000,
MGC ~2000) and its own random stream, derived from (seed, crc32(symbol)), so a symbol's data do
not depend on which other symbols are generated.

Planted signal
--------------
``feature_order_flow`` (:data:`DEMO_PLANTED_FEATURE`) is an AR(1) "order-flow imbalance" with
persistence 0.9 and unit stationary variance, ``flow_t = 0.9 flow_{t-1} + sqrt(1 - 0.81) u_t``,
observed at bar t's close. It shifts the mean of the next bars' returns by
``SIGNAL * sigma * flow`` (``SIGNAL`` = :data:`DEFAULT_SIGNAL` = 0.5). Because the flow persists,
the drift summed over h bars is ``SIGNAL * flow_t * (1 - 0.9^h) / 0.1`` against noise ``sqrt(h)``:
the signal-to-noise ratio is SIGNAL at h=1 and about 1.8 * SIGNAL at h=5 and h=20. Nothing else
drives returns. Past returns carry a noisy copy of the flow (the lag-1 autocorrelation of returns
is about 0.13), so the return features are weakly predictive too; the other features matter only
through volatility, which sets the barrier widths.

How learnable it is, on the default dataset (seed 0, 30 days, 8,220 rows per symbol): a
class-balanced multinomial logistic regression on the planted feature alone, fit on train and
scored on val (``oracle_macro_f1``, in tests/demo_oracle.py), reaches macro-F1 0.41 at h=1, 0.49
at h=5 and 0.48 at h=20, against 0.21 / 0.18 / 0.19 for always predicting the train majority class
(``majority_macro_f1``) and 0.29 / 0.26 / 0.28 for the same regression on data generated with
``signal=0`` (30 seeds at 20 days: oracle 0.42 / 0.53 / 0.50, sd 0.02).

Labels and weights
------------------
Triple barrier per horizon h in (1, 5, 20), from the simulated highs and lows: for row i the
barriers are ``close_i * (1 +- BARRIER_K * sigma_i * sqrt(h))`` with ``BARRIER_K`` = 1.0 and
``sigma_i`` the causal EWM volatility of close-to-close log returns (span 30), stored as
``feature_ewm_vol`` (float32; labels are computed from exactly the stored value). Label +1 if a high
of bars i+1..i+h reaches the upper barrier before any low reaches the lower one, -1 for the
reverse, 0 if neither does by bar i+h (vertical barrier). If both are reached within the same bar,
the order inside the bar is unknown: the label is the sign of that bar's close minus close_i (0 if
equal). Rows whose horizon runs past the symbol's last bar get label 0 and weight 0, and are in no
split.

``sample_weight_h`` measures how decisive the outcome was, in barrier units
``m = |log(close_exit / close_i)| / (BARRIER_K * sigma_i * sqrt(h))`` with ``exit`` the touching bar
(or bar i+h): ``clip(m, 0.25, 2)`` for +-1 (a touch that held counts about 1, a spike that reverted
less, a breakout more) and ``clip(1 - m, 0.25, 1)`` for 0 (ending near the entry counts 1, a near
miss less). Weights are float32 in [0.25, 2] on usable rows.

Features
--------
All computed causally, from bars at or before the row (a test recomputes them on a truncated
history): log returns over 1, 2, 5, 10, 20 bars; realized volatility over 5, 20, 50 bars and the
5/50 ratio; the EWM volatility; RSI(14) / 100; ATR(14) / close; close / SMA(10, 20, 50) - 1 and
SMA10 / SMA50 - 1; volume z-score (log volume, 50 bars); (high - low) / close; close location in
the bar; time of day (UTC) and trading weekday as sin/cos; position within the session; and the
planted order flow. The first :data:`WARMUP_BARS` bars of each symbol, where rolling windows are
undefined, are dropped, so every feature is finite on every row. Features are float32.

Splits
------
Per symbol, over the usable rows (those with a full 20-bar horizon): chronological 70% train, 15%
val, 15% test, with a purge gap of 20 rows between train and val and between val and test. The
label of the last train row ends at most on the row before the first val row.

Files are byte-identical for the same arguments (no timestamps in the parquet metadata).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "BARRIER_K",
    "BARS_PER_DAY",
    "DEFAULT_DAYS",
    "DEFAULT_SIGNAL",
    "DEMO_PLANTED_FEATURE",
    "DEMO_SIGMA_FEATURE",
    "DEMO_VERSION",
    "HORIZONS",
    "PURGE_GAP",
    "WARMUP_BARS",
    "DemoInfo",
    "compute_features",
    "ewm_vol",
    "make_demo",
    "make_splits",
    "return_features",
    "simulate_bars",
    "symbol_frame",
    "triple_barrier",
]

DEMO_VERSION = 2  # bump when the generator changes: cached demo data is keyed on it
DEMO_PLANTED_FEATURE = "feature_order_flow"
DEMO_SIGMA_FEATURE = "feature_ewm_vol"  # the sigma_i of the barriers, exactly as labels used it
HORIZONS: tuple[int, ...] = (1, 5, 20)
BARS_PER_DAY = 276  # 23 hours of 5-minute bars
DEFAULT_DAYS = 30  # 30 * 276 - warm-up = 8,220 rows per symbol: the main job in minutes
DEFAULT_SIGNAL = 0.5  # drift of the next bar's return per unit of flow, in units of its sigma
BARRIER_K = 1.0  # barrier half-width in units of sigma_i * sqrt(h)
WARMUP_BARS = 60  # longest rolling window is 50 returns (51 closes); dropped from every file
PURGE_GAP = max(HORIZONS)
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)

_FLOW_PHI = 0.9
_GARCH_ALPHA, _GARCH_BETA = 0.05, 0.94
_T_DOF = 5.0
_EWM_SPAN = 30
_BAR_MINUTES = 5
_SESSION_OPEN_UTC_MIN = 23 * 60  # 18:00 EST
_FIRST_DAY = np.datetime64("2024-01-08")  # a Monday
_DAILY_GAP_BARS, _WEEKEND_GAP_BARS = 6.0, 24.0  # gap-return variance, in bars of variance


@dataclass(frozen=True)
class _SymbolParams:
    price: float
    annual_vol: float
    tick: float
    volume: float  # mean contracts per bar


_PARAMS: dict[str, _SymbolParams] = {
    "MES": _SymbolParams(price=5000.0, annual_vol=0.16, tick=0.25, volume=1500.0),
    "MGC": _SymbolParams(price=2000.0, annual_vol=0.14, tick=0.10, volume=250.0),
}
_DEFAULT_PARAMS = _SymbolParams(price=100.0, annual_vol=0.20, tick=0.01, volume=500.0)


@dataclass(frozen=True)
class DemoInfo:
    """What :func:`make_demo` wrote."""

    out: Path
    rows: dict[str, int]  # rows per symbol file
    n_features: int
    seed: int
    days: int

    @property
    def n_rows(self) -> int:
        return sum(self.rows.values())


# ----------------------------------------------------------------------------------------------
# Simulation


def _seasonality(minute_utc: np.ndarray) -> np.ndarray:
    """Intraday volatility multiplier for the minute of day (UTC), before normalization."""
    m = (minute_utc - 5 * 60) % 1440  # minutes of the EST day
    us_open, cash_close = 9 * 60 + 30, 16 * 60
    rth = (m >= us_open) & (m < cash_close)
    s = 0.55 + 0.25 * np.exp(-(((m - 3 * 60) / 90.0) ** 2))  # Asian hours, London open bump
    s = s + np.where(rth, 0.45, 0.0)
    s = s + np.where(rth, 1.1 * np.exp(-np.clip(m - us_open, 0, None) / 35.0), 0.0)
    s = s + np.where(rth, 0.5 * np.exp(-np.clip(cash_close - m, 0, None) / 45.0), 0.0)
    s = s + 0.15 * np.exp(-(((m - 18 * 60) / 30.0) ** 2))  # Globex reopen
    return s


def _session_grid(days: int) -> tuple[np.ndarray, np.ndarray]:
    """Bar open times (ns since epoch, UTC) and the gap kind at each bar.

    gap kind: 0 inside a session, 1 first bar after the daily break, 2 first bar after a weekend.
    """
    weekdays = np.busday_offset(_FIRST_DAY, np.arange(days), roll="forward")  # trading dates
    # session of trading date D opens at D-1 23:00 UTC
    opens = (weekdays - np.timedelta64(1, "D")).astype("datetime64[m]") + np.timedelta64(
        _SESSION_OPEN_UTC_MIN, "m"
    )
    offsets = np.arange(BARS_PER_DAY) * np.timedelta64(_BAR_MINUTES, "m")
    times = (opens[:, None] + offsets[None, :]).ravel()
    gap = np.zeros(days * BARS_PER_DAY, dtype=np.int8)
    day_gap = np.diff(weekdays).astype(np.int64)
    gap[BARS_PER_DAY::BARS_PER_DAY] = np.where(day_gap > 1, 2, 1)
    return times.astype("datetime64[ns]").astype(np.int64), gap


def _garch(z: np.ndarray) -> np.ndarray:
    """GARCH(1,1) variance path with unit unconditional variance, driven by innovations z."""
    omega = 1.0 - _GARCH_ALPHA - _GARCH_BETA
    g = np.empty_like(z)
    prev = 1.0
    a, b = _GARCH_ALPHA, _GARCH_BETA
    for t, zt in enumerate(z.tolist()):  # sequential by nature; ~20k steps, a few ms
        g[t] = prev
        prev = omega + (a * zt * zt + b) * prev
    return g


def _rng(seed: int, symbol: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(symbol.encode())]))


def simulate_bars(
    symbol: str, *, seed: int = 0, days: int = DEFAULT_DAYS, signal: float = DEFAULT_SIGNAL
) -> pd.DataFrame:
    """Raw bars of one symbol (warm-up included): timestamp, OHLC, volume and the order flow."""
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    p = _PARAMS.get(symbol, _DEFAULT_PARAMS)
    rng = _rng(seed, symbol)
    times_ns, gap = _session_grid(days)
    n = times_ns.size

    # draws, in a fixed order
    eps = rng.standard_t(_T_DOF, size=n) / np.sqrt(_T_DOF / (_T_DOF - 2.0))
    u_flow = rng.standard_normal(n)
    u_gap = rng.standard_normal(n)
    u_high, u_low = rng.random(n), rng.random(n)
    u_vol = rng.standard_normal(n)

    minute = (times_ns // 60_000_000_000) % 1440
    season = _seasonality(minute)
    season = season / np.sqrt(np.mean(_seasonality(np.arange(BARS_PER_DAY) * 5 + 23 * 60) ** 2))
    base = p.annual_vol / np.sqrt(252.0 * BARS_PER_DAY)
    sigma = base * season * np.sqrt(_garch(eps))

    # AR(1) flow with unit stationary variance, started from its stationary distribution
    flow = np.empty(n)
    flow[0] = u_flow[0]
    c = np.sqrt(1.0 - _FLOW_PHI**2)
    for t in range(1, n):
        flow[t] = _FLOW_PHI * flow[t - 1] + c * u_flow[t]

    drift = np.zeros(n)
    drift[1:] = signal * flow[:-1]
    r = sigma * (drift + eps)  # open -> close of bar t
    gap_var = np.select([gap == 1, gap == 2], [_DAILY_GAP_BARS, _WEEKEND_GAP_BARS], 0.0)
    g = sigma * np.sqrt(gap_var) * u_gap  # close_{t-1} -> open_t
    log_close = np.log(p.price) + np.cumsum(g + r)
    log_open = log_close - r
    # Brownian-bridge extremes between open and close with the bar's variance:
    # max = (a + b + sqrt((b - a)^2 - 2 sigma^2 log U)) / 2, U uniform; min likewise
    mid, r2, v2 = 0.5 * (log_open + log_close), r * r, 2.0 * sigma**2
    log_high = mid + 0.5 * np.sqrt(r2 - v2 * np.log(u_high))
    log_low = mid - 0.5 * np.sqrt(r2 - v2 * np.log(u_low))

    def to_tick(x: np.ndarray) -> np.ndarray:
        return np.round(np.round(np.exp(x) / p.tick) * p.tick, 8)  # 8 decimals: no 0.1 residue

    open_, close = to_tick(log_open), to_tick(log_close)
    high = np.maximum(to_tick(log_high), np.maximum(open_, close))
    low = np.minimum(to_tick(log_low), np.minimum(open_, close))
    volume = np.maximum(
        1, np.round(p.volume * (sigma / base) * np.exp(0.35 * u_vol - 0.06125))
    ).astype(np.int64)

    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(times_ns.astype("datetime64[ns]")).tz_localize("UTC"),
            "symbol": symbol,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "order_flow": flow,
        }
    )


# ----------------------------------------------------------------------------------------------
# Features


def ewm_vol(close: np.ndarray | pd.Series) -> np.ndarray:
    """Causal EWM std (zero mean, span 30) of close-to-close log returns, rounded to float32.

    Row 0 (no return yet) is NaN. Rounded to float32 so the stored feature is exactly the value
    the labels were computed with.
    """
    r = np.diff(np.log(np.asarray(close, dtype=np.float64)), prepend=np.nan)
    var = pd.Series(r * r).ewm(span=_EWM_SPAN, adjust=True).mean().to_numpy()
    return np.sqrt(var).astype(np.float32).astype(np.float64)


def _wilder(x: pd.Series, n: int) -> pd.Series:
    return x.ewm(alpha=1.0 / n, adjust=False).mean()


def return_features(close: pd.Series) -> dict[str, pd.Series | np.ndarray]:
    """Log returns over 1 to 20 bars, realized volatility over 5 to 50, their ratio and the EWM
    volatility (``DEMO_SIGMA_FEATURE``, the barriers' sigma): causal, scale-free, NaN in warm-up."""
    # numpy's stubs type a ufunc of a Series as an ndarray; pandas returns a Series
    logc = cast(pd.Series, np.log(close))
    r1 = logc.diff()
    f: dict[str, pd.Series | np.ndarray] = {}
    for k in (1, 2, 5, 10, 20):
        f[f"feature_ret_{k}"] = logc.diff(k)
    for w in (5, 20, 50):
        f[f"feature_rv_{w}"] = r1.rolling(w).std()
    f["feature_rv_ratio"] = f["feature_rv_5"] / f["feature_rv_50"]
    f[DEMO_SIGMA_FEATURE] = ewm_vol(close.to_numpy())
    return f


def compute_features(bars: pd.DataFrame) -> pd.DataFrame:
    """Feature columns (float64, NaN during warm-up) from raw bars; row t uses rows <= t only."""
    close = bars["close"].astype(np.float64)
    high, low = bars["high"].astype(np.float64), bars["low"].astype(np.float64)
    f = return_features(close)

    delta = close.diff()
    gain, loss = _wilder(delta.clip(lower=0), 14), _wilder((-delta).clip(lower=0), 14)
    rs_den = loss.where(loss > 0)
    f["feature_rsi_14"] = (
        (1.0 - 1.0 / (1.0 + gain / rs_den)).where(loss > 0, 1.0).where(gain.notna())
    )
    prev_close = close.shift(1)
    tr = pd.concat([high - low, (high - prev_close).abs(), (low - prev_close).abs()], axis=1).max(
        axis=1
    )
    f["feature_atr_14"] = _wilder(tr, 14) / close

    sma = {w: close.rolling(w).mean() for w in (10, 20, 50)}
    for w, s in sma.items():
        f[f"feature_ma_gap_{w}"] = close / s - 1.0
    f["feature_ma_10_50"] = sma[10] / sma[50] - 1.0

    logv = cast(pd.Series, np.log1p(bars["volume"].astype(np.float64)))
    vm, vs = logv.rolling(50).mean(), logv.rolling(50).std()
    f["feature_volume_z"] = ((logv - vm) / vs.where(vs > 0)).where(~(vs == 0), 0.0)

    rng_ = high - low
    f["feature_hl_range"] = rng_ / close
    f["feature_close_loc"] = ((close - low) / rng_.where(rng_ > 0)).fillna(0.5)

    ts = pd.DatetimeIndex(bars["timestamp"])
    minute = ts.hour * 60 + ts.minute
    ang = 2.0 * np.pi * np.asarray(minute, dtype=np.float64) / 1440.0
    f["feature_tod_sin"], f["feature_tod_cos"] = np.sin(ang), np.cos(ang)
    # trading date: the session opening at 23:00 UTC belongs to the next day
    trade_day = (ts + pd.Timedelta(hours=1)).dayofweek.to_numpy().astype(np.float64)
    ang = 2.0 * np.pi * trade_day / 5.0
    f["feature_dow_sin"], f["feature_dow_cos"] = np.sin(ang), np.cos(ang)
    since_open = ((np.asarray(minute) - _SESSION_OPEN_UTC_MIN) % 1440) // _BAR_MINUTES
    f["feature_session_pos"] = since_open.astype(np.float64) / BARS_PER_DAY
    f[DEMO_PLANTED_FEATURE] = bars["order_flow"].astype(np.float64)

    return pd.DataFrame({k: np.asarray(v, dtype=np.float64) for k, v in f.items()})


# ----------------------------------------------------------------------------------------------
# Labels


def triple_barrier(
    close: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    sigma: np.ndarray,
    horizon: int,
    *,
    k: float = BARRIER_K,
) -> tuple[np.ndarray, np.ndarray]:
    """Triple-barrier labels (int8) and weights (float32) of one symbol's rows (module docstring).

    Rows i with i + horizon > n - 1, or without a positive sigma_i, get label 0 and weight 0.
    """
    close = np.asarray(close, dtype=np.float64)
    n, h = close.size, horizon
    labels = np.zeros(n, dtype=np.int8)
    weights = np.zeros(n, dtype=np.float32)
    m = n - h  # rows with a full horizon
    if m <= 0:
        return labels, weights
    width = k * np.asarray(sigma, dtype=np.float64)[:m] * np.sqrt(h)  # [m]
    c0 = close[:m]
    upper, lower = c0 * (1.0 + width), c0 * (1.0 - width)
    hw = sliding_window_view(np.asarray(high, dtype=np.float64)[1:], h)[:m]  # [m, h] bars i+1..i+h
    lw = sliding_window_view(np.asarray(low, dtype=np.float64)[1:], h)[:m]
    cw = sliding_window_view(close[1:], h)[:m]
    up_hit, dn_hit = hw >= upper[:, None], lw <= lower[:, None]
    never = h + 1
    first_up = np.where(up_hit.any(axis=1), up_hit.argmax(axis=1), never)
    first_dn = np.where(dn_hit.any(axis=1), dn_hit.argmax(axis=1), never)
    rows = np.arange(m)
    exit_ = np.minimum(np.minimum(first_up, first_dn), h - 1)
    c_exit = cw[rows, exit_]
    lab = np.zeros(m, dtype=np.int8)
    lab[first_up < first_dn] = 1
    lab[first_dn < first_up] = -1
    both = (first_up == first_dn) & (first_up < never)
    lab[both] = np.sign(c_exit[both] - c0[both]).astype(np.int8)

    with np.errstate(divide="ignore", invalid="ignore"):
        move = np.abs(np.log(c_exit / c0)) / width
    w = np.where(lab != 0, np.clip(move, 0.25, 2.0), np.clip(1.0 - move, 0.25, 1.0))
    # no volatility estimate yet (first bars of the warm-up, dropped from the files): no label
    undefined = ~(width > 0)
    lab[undefined], w[undefined] = 0, 0.0
    labels[:m], weights[:m] = lab, w.astype(np.float32)
    return labels, weights


# ----------------------------------------------------------------------------------------------
# Assembly


def symbol_frame(
    symbol: str, *, seed: int = 0, days: int = DEFAULT_DAYS, signal: float = DEFAULT_SIGNAL
) -> pd.DataFrame:
    """The labeled frame of one symbol, exactly as :func:`make_demo` writes it."""
    bars = simulate_bars(symbol, seed=seed, days=days, signal=signal)
    feats = compute_features(bars)
    sigma = feats[DEMO_SIGMA_FEATURE].to_numpy()
    close, high, low = (bars[c].to_numpy() for c in ("close", "high", "low"))
    cols: dict[str, np.ndarray] = {}
    for h in HORIZONS:
        cols[f"label_{h}"], cols[f"sample_weight_{h}"] = triple_barrier(close, high, low, sigma, h)
    frame = pd.concat(
        [
            bars.drop(columns="order_flow"),
            feats.astype(np.float32),
            pd.DataFrame({f"label_{h}": cols[f"label_{h}"] for h in HORIZONS}),
            pd.DataFrame({f"sample_weight_{h}": cols[f"sample_weight_{h}"] for h in HORIZONS}),
        ],
        axis=1,
    )
    return frame.iloc[WARMUP_BARS:].reset_index(drop=True)


def make_splits(rows: Sequence[int]) -> dict[str, np.ndarray]:
    """Chronological 70/15/15 splits per symbol with purge gaps, as positions in the combined frame.

    ``rows`` are the row counts of the symbol files in sorted symbol order. The last
    ``PURGE_GAP`` rows of each symbol (no full horizon) are in no split.
    """
    out: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    offset = 0
    for n in rows:
        usable = n - PURGE_GAP
        avail = usable - 2 * PURGE_GAP
        if avail < 3:
            raise ValueError(f"a symbol with {n} rows is too short to split")
        n_train = round(SPLIT_FRACTIONS[0] * avail)
        n_val = round(SPLIT_FRACTIONS[1] * avail)
        v0 = n_train + PURGE_GAP
        t0 = v0 + n_val + PURGE_GAP
        out["train"].append(offset + np.arange(0, n_train))
        out["val"].append(offset + np.arange(v0, v0 + n_val))
        out["test"].append(offset + np.arange(t0, usable))
        offset += n
    return {k: np.concatenate(v).astype(np.int64) for k, v in out.items()}


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="zstd", write_statistics=True)


def make_demo(
    out: Path,
    *,
    seed: int = 0,
    days: int = DEFAULT_DAYS,
    symbols: Sequence[str] = ("MES", "MGC"),
    signal: float = DEFAULT_SIGNAL,
) -> DemoInfo:
    """Write the demo dataset under ``out`` (see the module docstring) and describe it.

    ``signal`` is the strength of the planted effect (0 gives a dataset with nothing to learn).
    """
    out = Path(out)
    syms = sorted(dict.fromkeys(symbols))
    if not syms:
        raise ValueError("symbols must not be empty")
    final_dir, split_dir = out / "data" / "final", out / "config" / "splits"
    final_dir.mkdir(parents=True, exist_ok=True)
    split_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    n_features = 0
    for sym in syms:
        frame = symbol_frame(sym, seed=seed, days=days, signal=signal)
        _write_parquet(frame, final_dir / f"{sym}_final_labeled.parquet")
        rows[sym] = len(frame)
        n_features = sum(c.startswith("feature_") for c in frame.columns)
    for name, idx in make_splits([rows[s] for s in syms]).items():
        np.save(split_dir / f"{name}_indices.npy", idx)
    return DemoInfo(out=out, rows=rows, n_features=n_features, seed=seed, days=days)
