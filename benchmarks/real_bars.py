"""A small real-bars dataset in the Phase 1 layout, from the bars a PyPI package ships.

    pip install backtesting   # or: pip install arch
    python benchmarks/real_bars.py OUT_DIR [--source backtesting|arch]

Two sources, each two real markets at two bar spacings, which is what the score's Sharpe term has
to mean the same on:

- `backtesting` (the default; the bars the harness was developed on): `backtesting.test`'s
  EURUSD hourly bars (5,000, April 2017 to February 2018, a 24/5 FX market) and GOOG daily bars
  (2,148, August 2004 to March 2013, exchange days).
- `arch` (bars the harness was not developed on, to check that results carry over):
  `arch.data`'s S&P 500 and NASDAQ Composite daily bars (5,031 each, January 1999 to
  December 2018, exchange days). SP500 stays daily; NASDAQ_W is the NASDAQ resampled to weekly
  bars (1,044 weeks ending Friday, each stamped with its last trading day; short weeks are kept:
  holidays, September 2001, and the last, 31 December 2018 alone).

Per symbol:

- features, scale-free so that a 1.07 FX rate and a 700 USD share price look alike: log
  returns over 1, 2, 5, 10, 20 bars; realized volatility over 5, 20, 50 bars and the 5/50 ratio;
  the EWM volatility the barriers use; (high - low) / close; the close's place in the bar;
  close / SMA(10, 20, 50) - 1; the volume z-score (log volume over 50 bars). All causal.
- labels: triple barrier at 1, 5 and 20 bars from the highs and lows, barriers at
  +-1 EWM sigma * sqrt(h) (``harness.data.demo.triple_barrier``, the demo's rule); weights 1.
- the first 60 bars (rolling windows undefined) are dropped; chronological 70/15/15 splits per
  symbol with a 20-bar gap between train and val and between val and test
  (``harness.data.demo.make_splits``); the last 20 bars (no full horizon) are in no split.

Writes OUT_DIR/data/final/{SYMBOL}_final_labeled.parquet (EURUSD and GOOG, or NASDAQ_W and
SP500) and OUT_DIR/config/splits/. Check it with `harness check-data --data OUT_DIR`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.demo import (
    HORIZONS,
    WARMUP_BARS,
    make_splits,
    return_features,
    triple_barrier,
)


def features(bars: pd.DataFrame) -> pd.DataFrame:
    """Scale-free causal features of one symbol's OHLCV bars (row t reads rows <= t only)."""
    close = bars["close"].astype(np.float64)
    high, low = bars["high"].astype(np.float64), bars["low"].astype(np.float64)
    f = return_features(close)  # the demo's, feature_ewm_vol included (the barriers' sigma)
    span = high - low
    f["feature_hl_range"] = span / close
    f["feature_close_loc"] = ((close - low) / span.where(span > 0)).fillna(0.5)
    for w in (10, 20, 50):
        f[f"feature_ma_gap_{w}"] = close / close.rolling(w).mean() - 1.0
    logv = pd.Series(np.log1p(bars["volume"].to_numpy(np.float64)), index=close.index)
    mean, std = logv.rolling(50).mean(), logv.rolling(50).std()
    f["feature_volume_z"] = ((logv - mean) / std.where(std > 0)).fillna(0.0)
    return pd.DataFrame({k: np.asarray(v, dtype=np.float32) for k, v in f.items()})


def symbol_frame(symbol: str, ohlcv: pd.DataFrame) -> pd.DataFrame:
    """One symbol's labeled frame, as Phase 1 would write it."""
    bars = pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(ohlcv.index).as_unit("ns").tz_localize("UTC"),
            "symbol": symbol,
            "open": ohlcv["Open"].to_numpy(np.float64),
            "high": ohlcv["High"].to_numpy(np.float64),
            "low": ohlcv["Low"].to_numpy(np.float64),
            "close": ohlcv["Close"].to_numpy(np.float64),
            "volume": ohlcv["Volume"].to_numpy(np.float64),
        }
    )
    feats = features(bars)
    sigma = feats["feature_ewm_vol"].to_numpy(np.float64)  # exactly the stored value
    close, high, low = (bars[c].to_numpy() for c in ("close", "high", "low"))
    labels = {}
    for h in HORIZONS:
        labels[f"label_{h}"], _ = triple_barrier(close, high, low, sigma, h)
        labels[f"sample_weight_{h}"] = np.ones(len(bars), dtype=np.float32)
    frame = pd.concat([bars, feats, pd.DataFrame(labels)], axis=1)
    return frame.iloc[WARMUP_BARS:].reset_index(drop=True)


def weekly(daily: pd.DataFrame) -> pd.DataFrame:
    """Weekly OHLCV bars (weeks ending Friday) from daily ones, each stamped with its week's last
    trading day: no bar is stamped before a day it contains. Weeks without a day have no bar."""
    week = daily.index.to_period("W-FRI")  # Saturday to Friday; only weeks with days form groups
    bars = daily.assign(last_day=daily.index).groupby(week)
    return bars.agg(
        Open=("Open", "first"),
        High=("High", "max"),
        Low=("Low", "min"),
        Close=("Close", "last"),
        Volume=("Volume", "sum"),
        last_day=("last_day", "last"),
    ).set_index("last_day")


def backtesting_bars() -> dict[str, pd.DataFrame]:
    from backtesting.test import EURUSD, GOOG

    return {"EURUSD": EURUSD, "GOOG": GOOG}


def arch_bars() -> dict[str, pd.DataFrame]:
    from arch.data import nasdaq, sp500

    return {"NASDAQ_W": weekly(nasdaq.load()), "SP500": sp500.load()}


SOURCES = {"backtesting": backtesting_bars, "arch": arch_bars}  # OHLCV bars per symbol


def make_real_bars(out: Path, source: str = "backtesting") -> dict[str, int]:
    """Write the dataset of `source` under `out`; returns the rows per symbol file."""
    bars = SOURCES[source]()
    symbols = sorted(bars)  # the combined frame's order
    final, split_dir = out / "data" / "final", out / "config" / "splits"
    final.mkdir(parents=True, exist_ok=True)
    split_dir.mkdir(parents=True, exist_ok=True)
    rows = {}
    for symbol in symbols:
        frame = symbol_frame(symbol, bars[symbol])
        if not np.isfinite(frame.filter(like="feature_").to_numpy()).all():
            raise ValueError(f"{symbol}: a feature is not finite after the warm-up")
        frame.to_parquet(final / f"{symbol}_final_labeled.parquet", index=False)
        rows[symbol] = len(frame)
    for name, idx in make_splits([rows[s] for s in symbols]).items():
        np.save(split_dir / f"{name}_indices.npy", idx)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write data/ and config/ into")
    parser.add_argument("--source", choices=list(SOURCES), default="backtesting")
    args = parser.parse_args()
    rows = make_real_bars(args.out, args.source)
    print(", ".join(f"{s}: {n} rows" for s, n in rows.items()))


if __name__ == "__main__":
    main()
