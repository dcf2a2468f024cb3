"""Bars per year of each symbol, from the rows a model may see: train and val, never test.

The figure annualizes Sharpe ratios in the per-epoch report, in the exported metrics and in
``check-data``; it is part of what selects models, so the test split's timestamps stay unread
(docs/contracts.md). Each symbol gets its own figure: hourly FX beside daily equities is a
valid dataset, and one pooled figure would annualize both wrongly.
"""

from __future__ import annotations

import numpy as np

from harness.data.contract import DataError, Phase1Data
from harness.metrics import bars_per_year


def seen_bars_per_year(data: Phase1Data) -> dict[str, float]:
    """{symbol: bars per calendar year} from the timestamps of its train and val rows only.

    Each run of consecutive frame rows of a symbol's train and val rows (a segment: the purge
    gap between train and val, or any hole, ends one) is counted over its own whole weeks, and
    the segments are pooled (``metrics.bars_per_year``): counting across the train/val gap would
    count its time but not its bars and understate the figure by the gap's share (1 % for 20
    daily bars in 2,000).
    """
    rows = np.sort(np.concatenate([data.train, data.val]))
    stamps = data.frame["timestamp"].to_numpy()[rows]
    symbols = data.frame["symbol"].astype(str).to_numpy()[rows]
    new_segment = np.r_[True, (np.diff(rows) != 1) | (symbols[1:] != symbols[:-1])]
    segment = np.cumsum(new_segment)  # [N] segment number of each row, grouped by symbol
    out: dict[str, float] = {}
    for symbol in data.symbols:
        mine = symbols == symbol
        if not mine.any():  # a symbol of the test split alone: never scored
            continue
        try:
            out[symbol] = bars_per_year(stamps[mine], segment[mine])
        except ValueError:  # no segment of two bars: the bar length is unknown
            raise DataError(
                f"symbol {symbol}: its train and val rows hold no two consecutive bars, so its "
                "bars per year (which annualize its Sharpe ratio) are unknown."
            ) from None
    return out
