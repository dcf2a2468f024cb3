"""What a study and its trials show in optuna-dashboard: one number per attribute, and words.

optuna-dashboard cuts every attribute value at 1,024 characters (``ATTR_LIMIT``), so nested
metrics (2-3 kB for three horizons) never show there whole. A complete trial keeps instead,
taken at its best-score epoch (the epoch whose weights it keeps), one sortable number per
attribute (``trial_attrs``), per horizon h:

    val_macro_f1_h{h}, val_accuracy_h{h}, val_sharpe_h{h} (annualized), val_psr_h{h},
    val_timing_psr_h{h}, val_buy_hold_sharpe_h{h} (annualized, holding the symbols)
    gap_h{h}                  relative macro-F1 drop from train to val, (train - val) / train
    score_sharpe_term_h{h}    sharpe_weight * S (S: timing PSR, PSR or annualized Sharpe)
    score_f1_term_h{h}        f1_weight * val macro-F1; the score reduces (sum of both terms)
                              over the score's horizons
    val_sharpe_h{h}_{symbol}  each symbol's annualized val Sharpe

and a note (a markdown table per horizon). The full nested metrics of every epoch are the
trial's epoch log artifact (``search.artifacts``). The study names its one metric ``score``,
states the score, the budget and the data in words, and its note names the best trial.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import optuna

from harness.config import Budget, ScoreConfig
from harness.data import Phase1Data
from harness.metrics import (
    ACCURACY,
    BUY_HOLD_SHARPE,
    BY_SYMBOL,
    MACRO_F1,
    PSR,
    SHARPE,
    TIMING_PSR,
    horizon_score,
    train_val_gap,
)

ATTR_LIMIT = 1024  # optuna-dashboard shows at most this many characters of an attribute value
METRIC_NAME = "score"

VAL_MACRO_F1 = "val_macro_f1"
VAL_ACCURACY = "val_accuracy"
VAL_SHARPE = "val_sharpe"
VAL_PSR = "val_psr"
VAL_TIMING_PSR = "val_timing_psr"
VAL_BUY_HOLD_SHARPE = "val_buy_hold_sharpe"
GAP = "gap"
SCORE_SHARPE_TERM = "score_sharpe_term"
SCORE_F1_TERM = "score_f1_term"
# (attribute, column heading of the notes' tables)
_COLUMNS = (
    (VAL_MACRO_F1, "val macro-F1"),
    (VAL_ACCURACY, "val accuracy"),
    (VAL_SHARPE, "val Sharpe (ann.)"),
    (VAL_PSR, "val PSR"),
    (VAL_TIMING_PSR, "val timing PSR"),
    (VAL_BUY_HOLD_SHARPE, "buy & hold Sharpe (ann.)"),
    (SCORE_SHARPE_TERM, "score: Sharpe term"),
    (SCORE_F1_TERM, "score: F1 term"),
    (GAP, "train/val gap"),
)


def horizon_attr(name: str, h: int) -> str:
    """The attribute of metric `name` at horizon `h`: ``val_macro_f1_h20``."""
    return f"{name}_h{h}"


def symbol_sharpe_attr(h: int, symbol: str) -> str:
    return f"{horizon_attr(VAL_SHARPE, h)}_{symbol}"


def _number(value: Any) -> float | None:
    """A float for the storage; None where it is not finite (JSON has no NaN)."""
    if value is None:
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def trial_attrs(epoch: Mapping[str, Any], score: ScoreConfig) -> dict[str, float | None]:
    """The flat attributes of one epoch's entry of a training history (``FitResult.best``:
    ``{"val": {h: metrics}, "train": {h: metrics}, ...}``) under the score `score`."""
    val = epoch["val"]
    gap = train_val_gap(epoch.get("train", {}), val)
    out: dict[str, float | None] = {}
    for h in sorted(val, key=int):
        m = val[h]
        parts = {
            SCORE_SHARPE_TERM: {"sharpe_weight": score.sharpe_weight, "f1_weight": 0.0},
            SCORE_F1_TERM: {"sharpe_weight": 0.0, "f1_weight": score.f1_weight},
        }
        values = {
            VAL_MACRO_F1: m[MACRO_F1],
            VAL_ACCURACY: m[ACCURACY],
            VAL_SHARPE: m[SHARPE],
            VAL_PSR: m[PSR],
            VAL_TIMING_PSR: m.get(TIMING_PSR),
            VAL_BUY_HOLD_SHARPE: m.get(BUY_HOLD_SHARPE),
            GAP: gap[str(h)],
            # each term as the score counts it (horizon_score floors what is not finite)
            **{
                name: horizon_score(m, sharpe_term=score.sharpe_term, **weights)
                for name, weights in parts.items()
            },
        }
        out.update({horizon_attr(k, int(h)): _number(v) for k, v in values.items()})
        for symbol, sm in m.get(BY_SYMBOL, {}).items():
            out[symbol_sharpe_attr(int(h), str(symbol))] = _number(sm[SHARPE])
    return out


def symbol_sharpes(attrs: Mapping[str, Any], h: int, symbols: Sequence[str]) -> dict[str, float]:
    """{symbol: annualized val Sharpe} of a trial's attributes at horizon `h`; the symbols it
    has a finite Sharpe for."""
    found = {s: attrs.get(symbol_sharpe_attr(h, s)) for s in symbols}
    return {s: float(v) for s, v in found.items() if isinstance(v, int | float)}


def _cell(value: Any) -> str:
    return "–" if not isinstance(value, int | float) else f"{value:.4f}"


def horizon_table(attrs: Mapping[str, Any], horizons: Sequence[int]) -> str:
    """A markdown table of the attributes: one row per horizon."""
    lines = [
        "| horizon | " + " | ".join(title for _, title in _COLUMNS) + " |",
        "|---:|" + "---:|" * len(_COLUMNS),
    ]
    for h in horizons:
        cells = [_cell(attrs.get(horizon_attr(name, h))) for name, _ in _COLUMNS]
        lines.append(f"| {h} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def trial_note(
    number: int,
    value: float,
    attrs: Mapping[str, Any],
    *,
    horizons: Sequence[int],
    epochs: int,
    best_epoch: int,
    seconds: float,
) -> str:
    """The dashboard note of a complete trial."""
    return (
        f"**Trial {number}**: score {value:.4f} at epoch {best_epoch} "
        f"({epochs} epochs, {seconds:.1f} s). At that epoch:\n\n{horizon_table(attrs, horizons)}\n"
    )


def study_note(
    number: int, value: float, attrs: Mapping[str, Any], *, horizons: Sequence[int], score: str
) -> str:
    """The dashboard note of a study: its best trial so far, and what the score is."""
    return (
        f"**Best trial: {number}**, score {value:.4f}.\n\n{horizon_table(attrs, horizons)}\n\n"
        f"Score: {score}.\n"
    )


def fit_limit(text: str) -> str:
    """`text` cut to ``ATTR_LIMIT`` characters (an ellipsis marks a cut)."""
    return text if len(text) <= ATTR_LIMIT else text[: ATTR_LIMIT - 1] + "…"


def score_words(score: ScoreConfig, horizons: Sequence[int]) -> str:
    chosen = score.horizons or tuple(horizons)
    term = {
        "timing": "timing PSR (probabilistic Sharpe ratio of the position times the val bar "
        "return in excess of its symbol's mean, in [0, 1]; 0.5 for any constant position)",
        "psr": "PSR (probabilistic Sharpe ratio of the val bar returns, in [0, 1])",
        "annualized": "annualized val Sharpe",
    }[score.sharpe_term]
    return (
        f"{score.reduce} over horizons {', '.join(map(str, chosen))} of "
        f"{score.sharpe_weight:g} * {term} + {score.f1_weight:g} * val macro-F1, at the trial's "
        f"best epoch; backtest cost {score.cost_bps:g} bps per side"
    )


def budget_words(budget: Budget) -> str:
    return ", ".join(
        f"{k} {'all' if v is None else v}" for k, v in budget.model_dump(mode="json").items()
    )


def data_words(data: Phase1Data) -> str:
    stamps = data.frame["timestamp"]
    return (
        f"{len(data.frame)} rows ({len(data.train)} train, {len(data.val)} val, "
        f"{len(data.test)} test), symbols {', '.join(data.symbols)}, {stamps.min()} to "
        f"{stamps.max()}, horizons {', '.join(map(str, data.horizons))}, "
        f"{len(data.feature_names)} features"
    )


def describe_study(
    study: optuna.Study,
    *,
    score: ScoreConfig,
    budget: Budget,
    data: Phase1Data,
    names: Sequence[str] = (METRIC_NAME,),
) -> None:
    """Name the study's metrics (`names`: the score, or a Pareto search's objectives) and state
    its score, budget and data in its attributes."""
    study.set_metric_names(list(names))
    words = {
        "score": score_words(score, data.horizons),
        "budget": budget_words(budget),
        "data": data_words(data),
    }
    for key, text in words.items():
        study.set_user_attr(key, fit_limit(text))
