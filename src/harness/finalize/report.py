"""The per-model reports: metrics of a split (vectorbt numbers), tearsheets, TFT interpretation.

The exported backtest numbers come from vectorbt (``metrics.vectorbt_portfolios`` and
``vectorbt_metrics``), which agree with the numpy backtest the epochs were scored with; the
classification numbers from ``metrics.classification_metrics``. Nothing here re-implements a
metric.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
import torch
from torch import nn

from harness.data import PreparedData
from harness.metrics import (
    MAX_DRAWDOWN,
    N_TRADES,
    PROFIT_FACTOR,
    SHARPE,
    TOTAL_RETURN,
    WIN_RATE,
    BarsPerYear,
    calibration_metrics,
    classification_metrics,
    merge_timing,
    reliability_bins,
    timing_metrics,
    vectorbt_metrics,
    vectorbt_portfolios,
)
from harness.modelfile.checkpoint import members

RELIABILITY = "reliability"  # per horizon: metrics.reliability_bins of the class probabilities
# vectorbt's portfolio subplots drawn per symbol; net exposure shows long (+1) and short (-1).
# Its "trades" and "underwater" subplots are left out: they take seconds per plot (a shape per
# trade) and repeat what orders and drawdowns show.
TEARSHEET_SUBPLOTS = ("orders", "net_exposure", "trade_pnl", "cum_returns", "drawdowns")
# A tearsheet's plots keep, per trace, the lowest and the highest point of each of this many runs
# of consecutive points: about one run per pixel of the 1100-pixel-wide figure, so lines look as
# with every point, and a file's size stays flat in the number of validation rows.
PLOT_BUCKETS = 1000


@dataclass(frozen=True)
class SplitResult:
    """Predictions and metrics of one split."""

    rows: np.ndarray  # [N] positions in the combined frame, grouped by symbol, in time order
    probs: dict[int, np.ndarray]  # per horizon [N, 3] float32
    metrics: dict[int, dict[str, Any]]  # per horizon: classification + vectorbt backtest
    portfolios: dict[int, dict[str, Any]]  # per horizon: symbol -> vbt.Portfolio

    def pred(self, horizon: int) -> np.ndarray:
        return self.probs[horizon].argmax(axis=1)


def score_split(
    rows: np.ndarray,
    probs: Mapping[int, np.ndarray],
    data: PreparedData,
    *,
    bars_per_year: BarsPerYear,
    cost_bps: float,
) -> SplitResult:
    """Per horizon: classification metrics and the vectorbt backtest of the argmax class, the
    calibration of the probabilities (log-loss, Brier score) and their reliability bins."""
    labels = data.labels[torch.as_tensor(rows, device=data.device)].cpu().numpy()  # [N, H]
    close, symbols = data.close[rows], data.symbols[rows]
    timestamps = pd.DatetimeIndex(data.timestamps[rows])
    metrics, portfolios = {}, {}
    for k, h in enumerate(data.spec.horizons):
        pred = probs[h].argmax(axis=1)
        pfs = vectorbt_portfolios(
            pred,
            close,
            symbols,
            bars_per_year=bars_per_year,
            cost_bps=cost_bps,
            timestamps=timestamps,
            positions=rows,  # no return booked across a hole in the split
        )
        metrics[h] = {
            **classification_metrics(labels[:, k], pred),
            **calibration_metrics(labels[:, k], probs[h]),  # log_loss, brier: lower is better
            **merge_timing(
                vectorbt_metrics(pfs, bars_per_year=bars_per_year),
                timing_metrics(pred, close, symbols, bars_per_year=bars_per_year, positions=rows),
            ),
            RELIABILITY: reliability_bins(labels[:, k], probs[h]),
        }
        portfolios[h] = pfs
    return SplitResult(rows=rows, probs=dict(probs), metrics=metrics, portfolios=portfolios)


# --- HTML ----------------------------------------------------------------------------------------


def plotly_script() -> str:
    """plotly.js inlined (4.8 MB): an HTML report works alone, offline, wherever it is copied."""
    from plotly.offline import get_plotlyjs

    return f'<script type="text/javascript">{get_plotlyjs()}</script>'


def html_page(title: str, body: Sequence[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            plotly_script(),
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style>",
            "</head><body>",
            f"<h1>{html.escape(title)}</h1>",
            *body,
            "</body></html>",
        ]
    )


def figure_html(fig: Any) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False)


def extremes(y: np.ndarray, buckets: int) -> np.ndarray:
    """Sorted positions of the first and last point of `y` and of the lowest and highest point
    of each of `buckets` runs of consecutive points (a run of NaN keeps one: the gap shows)."""
    n = y.size
    size = -(-n // buckets)  # points per run, the last run shorter
    padded = np.full(buckets * size, np.nan)
    padded[:n] = y
    runs = padded.reshape(buckets, size)  # (buckets, size)
    start = np.arange(buckets) * size
    low = start + np.argmin(np.where(np.isnan(runs), np.inf, runs), axis=1)
    high = start + np.argmax(np.where(np.isnan(runs), -np.inf, runs), axis=1)
    keep = np.unique(np.concatenate([[0, n - 1], low, high]))
    return keep[keep < n]


def thin(fig: Any, *, buckets: int = PLOT_BUCKETS) -> None:
    """Cut every trace of `fig` longer than 2 * `buckets` points to its ``extremes``, in place,
    with each of its per-point arrays (hover data, marker sizes). plotly-resampler does this
    for a live Dash server; a file read offline needs its points chosen once, here."""
    for trace in fig.data:
        if trace.y is None or len(trace.y) <= 2 * buckets:
            continue
        n = len(trace.y)
        keep = extremes(np.asarray(trace.y, dtype=float), buckets)
        for owner, names in ((trace, _POINT_ARRAYS), (trace.marker, _MARKER_ARRAYS)):
            for name in names:
                value = getattr(owner, name, None)
                if value is not None and not isinstance(value, str) and len(value) == n:
                    setattr(owner, name, np.asarray(value)[keep])


_POINT_ARRAYS = ("x", "y", "customdata", "text", "hovertext")
_MARKER_ARRAYS = ("color", "size", "opacity", "symbol")


def _fmt(value: Any, spec: str = ".3f") -> str:
    if value is None:
        return "–"
    return format(value, spec) if isinstance(value, float) else str(value)


_BACKTEST_COLUMNS = (
    (SHARPE, "Sharpe", ".2f"),
    (MAX_DRAWDOWN, "max drawdown", ".2%"),
    (TOTAL_RETURN, "total return", ".2%"),
    (N_TRADES, "trades", "d"),
    (WIN_RATE, "win rate", ".1%"),
    (PROFIT_FACTOR, "profit factor", ".2f"),
)


def tearsheet_html(
    *,
    model: str,
    horizon: int,
    metrics: Mapping[str, Any],
    portfolios: Mapping[str, Any],
    cost_bps: float,
) -> str:
    """Validation backtest of one horizon: a metrics table, then vectorbt's plots per symbol."""
    head = "".join(f"<th>{label}</th>" for _, label, _ in _BACKTEST_COLUMNS)
    lines = [f"<tr><th>account</th>{head}</tr>"]
    for name, m in [("all symbols", metrics), *metrics.get("by_symbol", {}).items()]:
        cells = "".join(f"<td>{_fmt(m.get(key), spec)}</td>" for key, _, spec in _BACKTEST_COLUMNS)
        lines.append(f"<tr><th>{html.escape(name)}</th>{cells}</tr>")
    body = [
        f"<p>Validation rows, the ones the model, its trial and its epoch were chosen on: the "
        f"numbers are optimistic (metrics.json: deflated Sharpe, PBO). Rule: predicted class 2 "
        f"(label +1) long, 0 (label -1) short, "
        f"1 flat, at each bar's close, held to the next bar of the same symbol; "
        f"{cost_bps:g} bp per side. Accuracy {metrics['accuracy']:.3f}, macro-F1 "
        f"{metrics['macro_f1']:.3f}. One account trades the symbols one after another. The "
        f"table counts every bar; a plot line of more than {2 * PLOT_BUCKETS:,} bars draws "
        f"the lowest and highest point of each of {PLOT_BUCKETS:,} runs of bars.</p>",
        "<table>" + "".join(lines) + "</table>",
    ]
    for symbol, pf in portfolios.items():
        fig = pf.plot(subplots=list(TEARSHEET_SUBPLOTS))
        thin(fig)
        fig.update_layout(title=f"{model} {horizon}-bar, {symbol}", height=1100, width=1100)
        body += [f"<h2>{html.escape(symbol)}</h2>", figure_html(fig)]
    return html_page(f"{model}: {horizon}-bar validation tearsheet", body)


# --- TFT interpretation --------------------------------------------------------------------------


@runtime_checkable
class Interpretable(Protocol):
    """A net that shows its variable-selection weights and attention (TFT)."""

    def interpret(self, x: torch.Tensor, symbol: torch.Tensor) -> dict[str, torch.Tensor]: ...


def interpretable(net: nn.Module) -> bool:
    return all(isinstance(m, Interpretable) for m in members(net))


@torch.no_grad()
def interpretation(net: nn.Module, data: PreparedData, *, batch_size: int = 1024) -> dict[str, Any]:
    """Mean variable-selection weight per feature and mean attention per past step, over the
    validation rows (and per symbol), averaged over the members of an ensemble."""
    n_features, steps = data.spec.n_features, data.seq_len
    importance = torch.zeros(data.spec.n_symbols, n_features, dtype=torch.float64)
    attention = torch.zeros(data.spec.n_symbols, steps, dtype=torch.float64)
    count = torch.zeros(data.spec.n_symbols, dtype=torch.float64)
    nets = [m for m in members(net) if isinstance(m, Interpretable)]
    if len(nets) != len(members(net)):
        raise ValueError("interpretation needs a net whose members all have `interpret` (TFT)")
    for b in data.loader("val", batch_size=batch_size):
        outs = [m.interpret(b.x, b.symbol) for m in nets]
        imp = torch.stack([o["feature_importance"] for o in outs]).mean(0).double().cpu()  # [B, F]
        att = torch.stack([o["attention"] for o in outs]).mean(0).double().cpu()  # [B, L]
        sym = b.symbol.cpu()
        importance.index_add_(0, sym, imp)
        attention.index_add_(0, sym, att)
        count += torch.bincount(sym, minlength=data.spec.n_symbols).double()
    total = count.sum()

    def ranked(weights: torch.Tensor) -> list[dict[str, Any]]:
        order = torch.argsort(weights, descending=True).tolist()
        return [
            {"rank": r + 1, "feature": data.spec.feature_names[i], "importance": float(weights[i])}
            for r, i in enumerate(order)
        ]

    # Window position j covers row i - (L - 1 - j) (inclusive) or i - (L - j) (exclusive).
    shift = 0 if data.window_end == "inclusive" else 1
    lags = [steps - 1 - j + shift for j in range(steps)]
    seen = count > 0
    return {
        "rows": int(total),
        "feature_importance": ranked(importance.sum(0) / total),
        "feature_importance_by_symbol": {
            s: ranked(importance[k] / count[k]) for k, s in enumerate(data.spec.symbols) if seen[k]
        },
        "attention": {
            "lag": lags,  # bars before the predicted row (0 = the row itself)
            "weight": (attention.sum(0) / total).tolist(),
        },
        "note": "means over the validation rows of the variable-selection weights (each row "
        "sums to 1 over the features) and of the last step's attention over the window "
        "(averaged over heads; each row sums to 1 over the lags)",
    }
