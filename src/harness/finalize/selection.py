"""How much of a model's val numbers is luck of selection: what metrics.json says about it.

The exported model is the best of a study's N trials, each stopped at its best val epoch: its
val numbers were chosen on val and are optimistic. Two corrections, per horizon:

- the deflated Sharpe ratio (``metrics.deflated_sharpe``): the probability that the retrained
  best trial's val Sharpe beats the best of N skill-less tries, where N counts every choice made
  on val: each epoch of each finished trial (a trial keeps its best val epoch, and the study its
  best trial), and the spread of Sharpe ratios, per bar, is taken over the complete trials'
  epochs (from their stored epoch logs; the best epochs' where none were stored). Epochs of one
  trial, and trials a sampler clusters around one optimum, are fewer independent tries than
  that, so the deflation is on the strict side. With fewer than two complete trials there is
  no spread to deflate with: no deflated Sharpe, and the reason instead.
- the probability of backtest overfitting (``storage.overfitting``, CSCV) over the complete
  trials' stored val predictions: per horizon with trials ranked by that horizon's Sharpe
  ratio, and once with trials ranked by the study's own score, the rule that picked them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from optuna.trial import FrozenTrial, TrialState

from harness.config import ScoreConfig
from harness.data import Phase1Data
from harness.metrics import deflated_sharpe, sharpe_ratio, strategy_returns
from harness.storage import FINISHED, overfitting, stored_val_classes
from harness.storage.artifacts import NOT_PREDICTED, load_epoch_log
from harness.storage.attrs import symbol_sharpes

PBO_NOTE = (
    "probability of backtest overfitting by CSCV (Bailey, Borwein, López de Prado and Zhu): the "
    "complete trials' per-row val strategy returns of each horizon on the rows all of them "
    "predicted, cut into `blocks` blocks; in each of the C(blocks, blocks/2) splits the trial "
    "with the best Sharpe on half of the blocks is ranked on the other half; pbo = the share of "
    "splits where it lands at or below the median. About 0.5: the best val trial is no better "
    "than the rest out of sample; near 0: its edge holds. Under 'score' the same with the "
    "study's own rule: the trial with the best score (macro-F1 and the trading term, over the "
    "score's horizons) on half of the blocks, ranked by its score on the other half; the "
    "timing term's symbol means are taken over all the rows, not per half."
)


def _per_bar_from_attrs(attrs: dict[str, Any], h: int, bpy: dict[str, float]) -> float | None:
    """A trial's val Sharpe per bar at horizon `h` from its attributes: the mean over symbols of
    each symbol's annualized Sharpe over the square root of its bars per year."""
    by_symbol = symbol_sharpes(attrs, h, list(bpy))
    if not by_symbol or len(by_symbol) < len(bpy):
        return None
    return float(np.mean([v / math.sqrt(bpy[s]) for s, v in by_symbol.items()]))


def _per_bar_of_epochs(log: Sequence[dict[str, Any]], h: int, bpy: dict[str, float]) -> list[float]:
    """Each logged epoch's val Sharpe per bar at horizon `h` (mean over the symbols of each
    symbol's annualized Sharpe over the square root of its bars per year)."""
    found = []
    for entry in log:
        by_symbol = entry.get("val", {}).get(str(h), {}).get("by_symbol", {})
        values = {s: by_symbol.get(s, {}).get("sharpe") for s in bpy}
        if all(isinstance(v, int | float) and math.isfinite(v) for v in values.values()):
            found.append(float(np.mean([v / math.sqrt(bpy[s]) for s, v in values.items()])))
    return found


def _per_bar_from_classes(
    classes: np.ndarray, data: Phase1Data, *, cost_bps: float
) -> float | None:
    """A trial's val Sharpe per bar from its stored classes [N_val] of one horizon: the Sharpe
    of the combined account's bar returns on the rows it predicted (the series whose Sharpe the
    best trial's deflated Sharpe deflates)."""
    mine = classes != NOT_PREDICTED
    if mine.sum() < 2:
        return None
    rows = data.val[mine]
    returns = strategy_returns(
        classes[mine],
        data.frame["close"].to_numpy(np.float64)[rows],
        data.frame["symbol"].astype(str).to_numpy()[rows],
        cost_bps=cost_bps,
        positions=rows,
    )
    return sharpe_ratio(returns, bars_per_year=1.0)


def selection_report(
    trials: Sequence[FrozenTrial],
    data: Phase1Data,
    *,
    best_val_pred: dict[int, np.ndarray],
    val_rows: np.ndarray,
    bars_per_year: dict[str, float],
    score: ScoreConfig,
    artifacts: Path | None,
    n_blocks: int,
) -> dict[str, Any]:
    """``{"selection": ..., "deflated_sharpe": {h: ...}, "overfitting": {str(h) or "score":
    ...}}`` (``storage.overfitting``).

    `best_val_pred`: the exported model's predicted val classes per horizon [N], rows
    `val_rows` (frame positions, in order); `artifacts`: the folder the trials stored their
    predictions in (None: none), `n_blocks`: S of the PBO.
    """
    cost_bps = score.cost_bps
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    finished = [t for t in trials if t.state in FINISHED]
    n_trials = len(finished)
    # Every (trial, epoch) whose val result could have been kept: each scored epoch of each
    # finished trial (a trial without the count, from an older harness, counts once).
    n_choices = sum(max(int(t.user_attrs.get("epochs") or 1), 1) for t in finished)
    stored = stored_val_classes(complete, data, artifacts)
    logs = {t.number: load_epoch_log(t, artifacts) for t in complete} if artifacts else {}
    close = data.frame["close"].to_numpy(np.float64)
    symbols = data.frame["symbol"].astype(str).to_numpy()
    dsr: dict[int, float | None] = {}
    spread: dict[str, list[float]] = {}
    for k, h in enumerate(data.horizons):
        sharpes = []
        for t in complete:
            log = logs.get(t.number)
            if log:
                sharpes += _per_bar_of_epochs(log, h, bars_per_year)
                continue
            if t.number in stored:
                value = _per_bar_from_classes(stored[t.number][:, k], data, cost_bps=cost_bps)
            else:
                value = _per_bar_from_attrs(t.user_attrs, h, bars_per_year)
            if value is not None:
                sharpes.append(value)
        returns = strategy_returns(
            best_val_pred[h],
            close[val_rows],
            symbols[val_rows],
            cost_bps=cost_bps,
            positions=val_rows,
        )
        dsr[h] = (
            deflated_sharpe(returns, sharpes, bars_per_year=1.0, n_trials=n_choices)
            if len(complete) >= 2
            else None
        )
        spread[str(h)] = sharpes
    overfit = overfitting(stored, data, score=score, n_blocks=n_blocks, n_complete=len(complete))
    no_dsr = (
        None
        if len(complete) >= 2
        else f"{len(complete)} complete trial(s): the deflated Sharpe needs the spread of at "
        "least two trials' Sharpe ratios"
    )
    return {
        "selection": {
            "n_trials": n_trials,
            "n_val_choices": n_choices,
            "deflated_sharpe_reason": no_dsr,
            "n_complete": len(complete),
            "n_with_val_predictions": len(stored),
            "note": (
                f"The val numbers are those of the best of {n_trials} trials (the highest val "
                "score), each stopped at its best val epoch: selected on val, they are "
                "optimistic. deflated_sharpe (per horizon) is the probability that the val "
                f"Sharpe beats the best of N = {n_choices} skill-less tries, every epoch of every "
                "trial (each was a val result that could have been kept); N counts tries, not "
                "independent ones. overfitting is the probability of backtest overfitting of "
                "picking the best trial: per horizon, trials ranked by that horizon's Sharpe "
                "ratio; under 'score', ranked by the study's own score, as the study picked."
            ),
            "overfitting_note": PBO_NOTE,
            "per_bar_val_sharpes_of_complete_trials": spread,
        },
        "deflated_sharpe": dsr,
        "overfitting": overfit,
    }
