"""reports/phase2_model_comparison.md: the models side by side, with PNG plots beside it.

Read back from the results folder (metrics JSON and validation probabilities), so models
exported by earlier finalize runs into the same folder are compared too, as long as they were
trained on the same dataset.
"""

from __future__ import annotations

import json
import math
import os
import sys
import textwrap
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from harness.data import Phase1Data
from harness.finalize.report import RELIABILITY, figure_html, html_page
from harness.metrics import (
    BRIER,
    BUY_HOLD_SHARPE,
    LOG_LOSS,
    MACRO_F1,
    MAX_DRAWDOWN,
    PSR,
    SHARPE,
    TIMING_PSR,
    strategy_returns,
)
from harness.modelfile import layout
from harness.models import MODELS
from harness.storage import BY_SCORE
from harness.storage.pareto import is_pareto, score_of

# Phase 2 success criteria (the Phase 2 plan): on some horizon, on validation.
MIN_F1 = 0.35
MIN_SHARPE = 0.3
MAX_GAP = 0.20  # relative train -> val drop of macro-F1, on every horizon
# Correlation of P(long) - P(short) between two models: below LOW they disagree often enough
# to be worth stacking; above HIGH one of them adds little.
LOW_CORRELATION, HIGH_CORRELATION = 0.5, 0.8

EQUITY_PNG = "phase2_equity_curves.png"
CONFUSION_PNG = "phase2_confusion_matrices.png"
OVERFITTING_PNG = "phase2_overfitting.png"


def reliability_png(model: str) -> str:
    return f"{model}_reliability.png"


def optuna_files(model: str) -> dict[str, str]:
    return {
        "history_png": f"{model}_optuna_history.png",
        "importance_png": f"{model}_optuna_importances.png",
        "pareto_png": f"{model}_pareto_front.png",  # a Pareto search's only
        "html": f"{model}_optuna.html",
    }


def load_reports(out: Path, data: Phase1Data) -> dict[str, dict[str, Any]]:
    """metrics JSON of every model exported in `out` for this dataset, in registry order."""
    reports = {}
    for model in MODELS:
        path = layout.resolve(out, layout.metrics(model))
        if not path.is_file():
            continue
        summary = json.loads(path.read_text())
        if summary.get("data_fingerprint") != data.fingerprint:
            continue
        if all(layout.resolve(out, layout.val_probs(model, h)).is_file() for h in data.horizons):
            reports[model] = summary
    return reports


def write_comparison(
    out: Path,
    data: Phase1Data,
    *,
    studies: Mapping[str, tuple[str, str]] | None = None,
    say: Callable[[str], None] = print,
) -> Path | None:
    """Write the comparison report over the models exported in `out` (None when there are none).

    `studies`: model -> (storage URL, study name) whose Optuna plots to (re)draw; plots drawn by
    earlier runs are kept and linked.
    """
    out = Path(out)
    reports = load_reports(out, data)
    if not reports:
        return None
    say(f"comparison of {', '.join(reports)}: Optuna plots, equity, confusion, PBO, reliability")
    _use_agg()
    reports_dir = out / layout.REPORTS_DIR
    reports_dir.mkdir(parents=True, exist_ok=True)
    probs = {
        m: {h: np.load(layout.resolve(out, layout.val_probs(m, h))) for h in data.horizons}
        for m in reports
    }
    notes: dict[str, str] = {}
    for model, (url, name) in (studies or {}).items():
        notes[model] = write_optuna_plots(
            reports_dir, model, url, name, exported=reports[model]["trial"]
        )
    import matplotlib.pyplot as plt

    with plt.style.context("default"):  # whatever style Optuna's plots or the caller set
        _equity_plot(reports_dir / EQUITY_PNG, data, reports, probs)
        _confusion_plot(reports_dir / CONFUSION_PNG, data, reports)
        _overfitting_plot(reports_dir / OVERFITTING_PNG, data, reports, out)
        for model, report in reports.items():
            _reliability_plot(reports_dir / reliability_png(model), data, model, report)
    text = _markdown(reports_dir, data, reports, probs, notes)
    path = layout.resolve(out, layout.COMPARISON)
    _write_text(path, text)
    say(f"comparison of {', '.join(reports)}: {path}")
    return path


# --- markdown ------------------------------------------------------------------------------------


def _f(value: Any, spec: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return format(value, spec)


def _markdown(
    reports_dir: Path,
    data: Phase1Data,
    reports: dict[str, dict[str, Any]],
    probs: dict[str, dict[int, np.ndarray]],
    notes: dict[str, str],
) -> str:
    horizons = data.horizons
    lines = [
        "# Phase 2 model comparison",
        "",
        f"Dataset fingerprint `{data.fingerprint}`, {len(data.val)} validation rows "
        f"({', '.join(data.symbols)}), horizons {', '.join(map(str, horizons))} bars. "
        "All numbers are on the validation split unless marked train; backtests come from "
        "vectorbt (class 2 long, class 0 short, class 1 flat, held one bar, per symbol, with "
        "the costs each model's objective names).",
        "",
        "## Side by side",
        "",
        "Each model's validation numbers are those of the best of its study's N trials (N "
        "below), each trial stopped at its best validation epoch: chosen on validation, they "
        "are optimistic. Read them beside the deflated Sharpe and the PBO.",
        "",
        "| model | N trials | horizon | accuracy | macro-F1 | Sharpe | buy & hold Sharpe "
        "| timing PSR | PSR | max DD "
        "| deflated Sharpe | PBO | trades | train F1 | train/val gap | train time (s) "
        "| inference (windows/s) | parameters |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model, r in reports.items():
        for h in horizons:
            m = r["horizons"][str(h)]
            val, train = m["val"], m["train"]
            lines.append(
                f"| {model} | {_n_trials(r)} | {h} | {_f(val['accuracy'])} "
                f"| {_f(val[MACRO_F1])} | {_f(val[SHARPE], '.2f')} "
                f"| {_f(val.get(BUY_HOLD_SHARPE), '.2f')} | {_f(val.get(TIMING_PSR))} "
                f"| {_f(val.get(PSR))} "
                f"| {_f(val[MAX_DRAWDOWN], '.1%')} | {_f(m['deflated_sharpe'])} "
                f"| {_f(m.get('pbo'), '.2f')} | {val['n_trades']} | {_f(train[MACRO_F1])} "
                f"| {_f(m['train_val_gap'], '.1%')} | {_f(r['training']['seconds'], '.0f')} "
                f"| {_f(r['inference']['windows_per_second'], ',.0f')} | {r['n_parameters']:,} |"
            )
    lines += [
        "",
        "Sharpe: annualized per symbol, the mean of the symbols'; buy & hold Sharpe: the same of "
        "holding each symbol over the same rows, the bar a strategy's Sharpe is read against. "
        "Timing PSR: the probabilistic Sharpe ratio of the position times the bar return in "
        "excess of its symbol's mean over the rows, the score's trading term by default: 0.5 "
        "for any constant position, so it pays for timing, not for the period's drift. PSR: "
        "the same probability of the strategy's own bar returns, P[true Sharpe > 0]. "
        "Deflated Sharpe: the probability that the val Sharpe beats the best "
        "of N skill-less trials (Bailey and López de Prado, 2014); N counts every finished "
        "trial, not independent ones, so it deflates on the strict side. PBO: probability of "
        "backtest overfitting (Bailey, Borwein, López de Prado and Zhu, 2017): how often the "
        "trial that is best on half of the validation blocks (by the horizon's Sharpe here; by "
        "the study's score under Selection) is at or below the median on the other half; 0.5 "
        "is a best trial no better than the others, n/a where fewer than two "
        "trials stored their predictions. Train/val gap: relative drop of macro-F1 from train "
        "to validation. Cost: training time of all seeds and validation inference speed on the "
        "device named in each model's metrics JSON.",
        "",
        "## Against the reference",
        "",
        *_reference_lines(reports_dir.parent, data, reports),
        "",
        "## Selection: how much of it is luck",
        "",
        *_selection_lines(reports, horizons),
        "",
        "## Calibration",
        "",
        *_calibration_lines(reports, horizons),
        "",
        "## Best model per horizon",
        "",
        "On the validation rows every model and trial was chosen on: optimistic numbers.",
        "",
        "| horizon | best macro-F1 | best Sharpe |",
        "|---:|---|---|",
    ]
    for h in horizons:
        by_f1 = max(reports, key=lambda m: reports[m]["horizons"][str(h)]["val"][MACRO_F1])
        by_sr = max(reports, key=lambda m: reports[m]["horizons"][str(h)]["val"][SHARPE] or 0.0)
        f1 = reports[by_f1]["horizons"][str(h)]["val"][MACRO_F1]
        sr = reports[by_sr]["horizons"][str(h)]["val"][SHARPE]
        lines.append(f"| {h} | {by_f1} ({_f(f1)}) | {by_sr} ({_f(sr, '.2f')}) |")

    lines += ["", "## Do the models agree?", ""]
    if len(reports) < 2:
        lines.append("Only one model is exported: nothing to correlate yet.")
    else:
        lines += _correlation_lines(reports, probs, horizons)

    lines += [
        "",
        "## Phase 2 success criteria",
        "",
        f"Validation macro-F1 > {MIN_F1} on some horizon; validation Sharpe > {MIN_SHARPE} on "
        f"some horizon; train/val gap < {MAX_GAP:.0%} on every horizon. Sharpe is annualized "
        f"per symbol with the bars a year its train and val timestamps show "
        f"({_bars_per_year(reports)}), the all-symbol figure the mean of the symbols': on "
        "intraday bars a Sharpe of 0.3 is a low bar; read it beside the deflated Sharpe.",
        "",
        "The validation numbers checked are the best of N trials, epochs selected on "
        "validation (the selection column says how far to trust them).",
        "",
        f"| model | F1 > {MIN_F1} | Sharpe > {MIN_SHARPE} | gap < {MAX_GAP:.0%} | all "
        "| selection (per horizon) |",
        "|---|---|---|---|---|---|",
    ]
    for model, r in reports.items():
        checks = criteria(r, horizons)
        cells = " | ".join(f"{'PASS' if ok else 'FAIL'}: {why}" for ok, why in checks)
        verdict = "PASS" if all(ok for ok, _ in checks) else "FAIL"
        lines.append(f"| {model} | {cells} | **{verdict}** | {_selection_cell(r, horizons)} |")

    lines += [
        "",
        "## Plots",
        "",
        "Validation equity curves (one account per model, symbols one after another):",
        "",
        f"![equity curves]({EQUITY_PNG})",
        "",
        "Validation confusion matrices (rows: true class, share of the row):",
        "",
        f"![confusion matrices]({CONFUSION_PNG})",
        "",
        "Probability of backtest overfitting: the logits of the IS-best trial's OOS rank over "
        "the CSCV splits (left of 0: it fell to or below the median; PBO is that share), trials "
        "ranked per horizon by its Sharpe ratio and, last, by the study's score:",
        "",
        f"![overfitting]({OVERFITTING_PNG})",
        "",
        "Reliability of the validation probabilities, per model (observed frequency of each "
        "class against the mean predicted probability, 10 bins; the diagonal is calibrated):",
        "",
        *(f"![{m} reliability]({reliability_png(m)})" for m in reports),
        "",
        "Per model: tearsheets `{model}_{h}bar_tearsheet.html`, metrics `{model}_metrics.json`.",
    ]
    for model in reports:
        files = optuna_files(model)
        lines += ["", f"### {model}: Optuna study `{reports[model]['study']}`", ""]
        if note := notes.get(model):
            lines += [note, ""]
        lines += _choice_lines(reports[model])
        shown = (
            ("pareto_png", "Pareto front"),
            ("history_png", "optimization history"),
            ("importance_png", "parameter importances"),
        )
        for key, title in shown:
            if (reports_dir / files[key]).is_file():
                lines.append(f"![{model} {title}]({files[key]})")
        if (reports_dir / files["html"]).is_file():
            lines += ["", f"Interactive: [{files['html']}]({files['html']})"]
    return "\n".join(lines) + "\n"


def _choice_lines(report: dict[str, Any]) -> list[str]:
    """Which trial was exported and why (the metrics JSON's ``trial_choice``), and for a Pareto
    search what its front is."""
    choice = report.get("trial_choice")
    if not choice:
        return []
    lines = [f"Exported: trial {report['trial']}, {choice['why']}; score {_f(choice['score'])}."]
    if choice.get("pareto"):
        goals = " and ".join(
            f"{n} ({d})" for n, d in zip(choice["objectives"], choice["directions"], strict=True)
        )
        values = ", ".join(
            f"{n} {_f(v, '.4f')}"
            for n, v in zip(choice["objectives"], choice["values"], strict=True)
        )
        lines += [
            "",
            f"A Pareto search of {goals}: no trial beats a member of the front on every "
            f"objective. The exported trial has {values}. The figure draws every complete "
            "trial, the front and, in the PNG, the exported trial (a star); `harness finalize "
            "--trial N` exports another.",
        ]
    return [*lines, ""]


def _reference_lines(out: Path, data: Phase1Data, reports: dict[str, dict[str, Any]]) -> list[str]:
    """The reference's val numbers, then per model and horizon whether it beats them."""
    path = layout.resolve(out, layout.metrics(layout.REFERENCE))
    if not path.is_file():
        return ["No reference was exported with these models (finalize exports one)."]
    ref = json.loads(path.read_text())
    if ref.get("data_fingerprint") != data.fingerprint:
        return [f"`{path.name}` is of another dataset: no verdict."]
    lines = [
        f"The reference: {ref['family']} models ({ref['score_rule']}; chosen on val as the deep "
        "models are). Its validation numbers:",
        "",
        "| horizon | macro-F1 | log-loss | Sharpe | buy & hold Sharpe | timing PSR |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for h in data.horizons:
        v = ref["horizons"][str(h)]["val"]
        lines.append(
            f"| {h} | {_f(v[MACRO_F1])} | {_f(v.get(LOG_LOSS))} | {_f(v[SHARPE], '.2f')} "
            f"| {_f(v.get(BUY_HOLD_SHARPE), '.2f')} | {_f(v.get(TIMING_PSR))} |"
        )
    lines += [
        "",
        "Each model against it on the same validation rows: the difference in macro-F1 (and in "
        "log-loss, lower is better) with a 90% interval from a block bootstrap over contiguous "
        "blocks of validation rows; a model beats the reference where the interval lies above 0.",
        "",
    ]
    for report in reports.values():
        for h in data.horizons:
            versus = report["horizons"][str(h)].get("versus_reference")
            if versus is not None:
                loss = versus["log_loss"]
                side = "lower" if loss["difference"] >= 0 else "higher"
                lines.append(
                    f"- {versus['sentence']}; its log-loss is {side} by "
                    f"{abs(loss['difference']):.3f} (the reduction's interval: "
                    f"{loss['low']:+.3f} to {loss['high']:+.3f})."
                )
    return lines


def _bars_per_year(reports: dict[str, dict[str, Any]]) -> str:
    """'MES 72,006, MGC 72,006': each symbol's bars per year, as the metrics JSON gives them."""
    figures = next(iter(reports.values()))["bars_per_year"]
    return ", ".join(f"{symbol} {_f(float(v), ',.0f')}" for symbol, v in figures.items())


def _n_trials(report: dict[str, Any]) -> str:
    return str(report.get("selection", {}).get("n_trials", "n/a"))


def _logits(out: Path, model: str, key: str) -> list[float]:
    """The PBO logits of `model` at horizon `key` (``str(h)``) or by the score (``BY_SCORE``);
    none where its file or array is missing (a results folder of an older version kept them in
    metrics.json: they are not read)."""
    path = layout.resolve(out, layout.pbo_logits(model))
    if not path.is_file():
        return []
    name = key if key == BY_SCORE else f"h{key}"
    with np.load(path) as saved:
        return saved[name].tolist() if name in saved else []


def _pbo(report: dict[str, Any], key: str) -> dict[str, Any]:
    """The PBO of a report at horizon `key` (``str(h)``) or by the score (``BY_SCORE``)."""
    return dict(report.get("overfitting", {}).get(key, {}))


def _selection_cell(report: dict[str, Any], horizons: tuple[int, ...]) -> str:
    """'best of N = 12; DSR 0.99 / 0.87 / 0.41; PBO 0.10 / 0.25 / n/a; by score 0.20'."""
    per = [report["horizons"][str(h)] for h in horizons]
    dsr = " / ".join(_f(m["deflated_sharpe"], ".2f") for m in per)
    pbo = " / ".join(_f(m.get("pbo"), ".2f") for m in per)
    by_score = _f(_pbo(report, BY_SCORE).get("pbo"), ".2f")
    return f"best of N = {_n_trials(report)}; DSR {dsr}; PBO {pbo}; by score {by_score}"


def _selection_lines(reports: dict[str, dict[str, Any]], horizons: tuple[int, ...]) -> list[str]:
    lines = [
        "Each exported model is its study's best trial (unless finalize was given `--trial`): "
        "N trials were run (finished: complete or pruned), of which the complete ones stored "
        "their validation predictions for the PBO. Two views of the PBO: in a horizon's row the "
        "trials are ranked by that horizon's Sharpe ratio; in the row `by score`, by the "
        "study's own score over its horizons, the rule that picks the best trial. PBO slope: "
        "how the best-on-half trial's figure on the other half moves with its figure on the "
        "first half (negative: a higher first-half figure foretells a lower second-half one).",
        "",
        "| model | horizon | N trials | complete | in PBO | val Sharpe | deflated Sharpe | PBO "
        "| PBO slope | PBO rows x blocks |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    notes = []
    for model, r in reports.items():
        sel = r.get("selection", {})
        for key in [*map(str, horizons), BY_SCORE]:
            o = _pbo(r, key)
            m = r["horizons"].get(key, {})
            label = "by score" if key == BY_SCORE else key
            shape = f"{o['rows']} x {o['blocks']}" if "rows" in o else "n/a"
            lines.append(
                f"| {model} | {label} | {sel.get('n_trials', 'n/a')} "
                f"| {sel.get('n_complete', 'n/a')} | {o.get('n_trials', 0)} "
                f"| {_f(m.get('val', {}).get(SHARPE), '.2f')} | {_f(m.get('deflated_sharpe'))} "
                f"| {_f(o.get('pbo'), '.2f')} | {_f(o.get('slope'), '.2f')} | {shape} |"
            )
            if o.get("pbo") is None and (reason := o.get("reason")):
                where = "by the score" if key == BY_SCORE else f"{key}-bar"
                notes.append(f"{model}, {where}: no PBO, {reason}.")
    return lines + (["", *sorted(set(notes))] if notes else [])


def _calibration_lines(reports: dict[str, dict[str, Any]], horizons: tuple[int, ...]) -> list[str]:
    lines = [
        "Proper scoring rules of the class probabilities, lower is better: log-loss (natural "
        f"log) and Brier score (summed over classes, in [0, 2]). Uniform probabilities score "
        f"{math.log(3):.3f} and {2 / 3:.3f}.",
        "",
        "| model | horizon | val log-loss | val Brier | train log-loss | train Brier |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for model, r in reports.items():
        for h in horizons:
            val, train = r["horizons"][str(h)]["val"], r["horizons"][str(h)]["train"]
            lines.append(
                f"| {model} | {h} | {_f(val.get(LOG_LOSS))} | {_f(val.get(BRIER))} "
                f"| {_f(train.get(LOG_LOSS))} | {_f(train.get(BRIER))} |"
            )
    return lines


def _signal(p: np.ndarray) -> np.ndarray:
    return p[:, 2].astype(np.float64) - p[:, 0].astype(np.float64)  # P(long) - P(short)


def _correlation_lines(
    reports: dict[str, dict[str, Any]],
    probs: dict[str, dict[int, np.ndarray]],
    horizons: tuple[int, ...],
) -> list[str]:
    names = list(reports)
    lines = [
        "Correlation of each pair's validation signal P(long) - P(short), and how often their "
        f"predicted classes agree. Below {LOW_CORRELATION} the models are complementary "
        f"(worth stacking in Phase 4); above {HIGH_CORRELATION} largely redundant.",
        "",
        "| horizon | models | correlation | same class | reading |",
        "|---:|---|---:|---:|---|",
    ]
    for h in horizons:
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                sa, sb = _signal(probs[a][h]), _signal(probs[b][h])
                corr = (
                    float(np.corrcoef(sa, sb)[0, 1]) if sa.std() > 0 and sb.std() > 0 else math.nan
                )
                agree = float(np.mean(probs[a][h].argmax(1) == probs[b][h].argmax(1)))
                if not math.isfinite(corr):
                    reading = "n/a (a model's signal is constant)"
                elif corr < LOW_CORRELATION:
                    reading = "complementary"
                elif corr < HIGH_CORRELATION:
                    reading = "partly overlapping"
                else:
                    reading = "largely redundant"
                lines.append(f"| {h} | {a} / {b} | {_f(corr, '.2f')} | {agree:.1%} | {reading} |")
    return lines


def criteria(summary: dict[str, Any], horizons: tuple[int, ...]) -> list[tuple[bool, str]]:
    """(passed, why) for each Phase 2 criterion, from a model's metrics JSON."""
    per = {h: summary["horizons"][str(h)] for h in horizons}
    f1 = {h: per[h]["val"][MACRO_F1] for h in horizons}
    sharpe = {h: per[h]["val"][SHARPE] for h in horizons}
    gaps = {h: per[h]["train_val_gap"] for h in horizons}
    best_f1 = max(horizons, key=lambda h: f1[h])
    best_sr = max(horizons, key=lambda h: sharpe[h] if sharpe[h] is not None else -math.inf)
    known_gaps = [g for g in gaps.values() if g is not None]
    worst_gap = max(known_gaps) if known_gaps else None
    return [
        (f1[best_f1] > MIN_F1, f"best {_f(f1[best_f1])} at {best_f1}-bar"),
        (
            sharpe[best_sr] is not None and sharpe[best_sr] > MIN_SHARPE,
            f"best {_f(sharpe[best_sr], '.2f')} at {best_sr}-bar",
        ),
        (
            worst_gap is not None and len(known_gaps) == len(gaps) and worst_gap < MAX_GAP,
            f"worst {_f(worst_gap, '.1%')}",
        ),
    ]


# --- plots ---------------------------------------------------------------------------------------


def _use_agg() -> None:
    """Agg (files only), unless the caller already chose a backend by importing pyplot."""
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")


def _save(fig: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    os.replace(tmp, path)  # a reader never sees half a PNG


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _equity_plot(
    path: Path,
    data: Phase1Data,
    reports: dict[str, dict[str, Any]],
    probs: dict[str, dict[int, np.ndarray]],
) -> None:
    import matplotlib.pyplot as plt

    close = data.frame["close"].to_numpy(np.float64)[data.val]
    symbols = data.frame["symbol"].astype(str).to_numpy()[data.val]
    fig, axes = plt.subplots(
        len(data.horizons), 1, figsize=(10, 3 * len(data.horizons)), squeeze=False
    )
    starts = np.flatnonzero(np.r_[True, symbols[1:] != symbols[:-1]])
    for ax, h in zip(axes[:, 0], data.horizons, strict=True):
        for model, r in reports.items():
            pred = probs[model][h].argmax(1)
            returns = strategy_returns(
                pred, close, symbols, cost_bps=r["cost_bps"], positions=data.val
            )
            ax.plot(np.cumprod(1.0 + returns), label=model, linewidth=1)
        for s in starts[1:]:
            ax.axvline(s, color="grey", linewidth=0.5, linestyle=":")
        ax.axhline(1.0, color="black", linewidth=0.5)
        ax.set_title(f"{h}-bar horizon: validation equity ({' | '.join(symbols[starts])})")
        ax.set_ylabel("equity")
        ax.legend(loc="upper left")
    axes[-1, 0].set_xlabel("validation row")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _confusion_plot(path: Path, data: Phase1Data, reports: dict[str, dict[str, Any]]) -> None:
    import matplotlib.pyplot as plt

    models, horizons = list(reports), data.horizons
    fig, axes = plt.subplots(
        len(models),
        len(horizons),
        figsize=(3.2 * len(horizons), 3 * len(models)),
        squeeze=False,
    )
    labels = ["short", "flat", "long"]
    for i, model in enumerate(models):
        for j, h in enumerate(horizons):
            cm = np.asarray(reports[model]["horizons"][str(h)]["val"]["confusion"], dtype=float)
            share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1.0)
            ax = axes[i, j]
            ax.imshow(share, vmin=0.0, vmax=1.0, cmap="Blues")
            for (t, p), n in np.ndenumerate(cm):
                color = "white" if share[t, p] > 0.6 else "black"
                ax.text(p, t, f"{int(n)}\n{share[t, p]:.0%}", ha="center", va="center", color=color)
            ax.set_xticks(range(3), labels)
            ax.set_yticks(range(3), labels)
            ax.set_title(f"{model}, {h}-bar")
            ax.grid(False)
            if j == 0:
                ax.set_ylabel("true")
            if i == len(models) - 1:
                ax.set_xlabel("predicted")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _overfitting_plot(
    path: Path, data: Phase1Data, reports: dict[str, dict[str, Any]], out: Path
) -> None:
    """Per model, per horizon and by the score: the histogram of the CSCV logits (each model's
    pbo_logits file), PBO in the title."""
    import matplotlib.pyplot as plt

    models, keys = list(reports), [*map(str, data.horizons), BY_SCORE]
    fig, axes = plt.subplots(
        len(models),
        len(keys),
        figsize=(3.6 * len(keys), 2.8 * len(models)),
        squeeze=False,
    )
    for i, model in enumerate(models):
        for j, key in enumerate(keys):
            ax, o = axes[i, j], _pbo(reports[model], key)
            logits = _logits(out, model, key)
            if o.get("pbo") is None or not logits:
                ax.text(
                    0.5,
                    0.5,
                    "no PBO: " + textwrap.fill(str(o.get("reason", "not computed")), 36),
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    fontsize=8,
                )
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                values = np.asarray(logits, dtype=np.float64)
                ax.hist(values, bins=min(40, max(5, len(np.unique(values)))), color="steelblue")
                ax.axvline(0.0, color="black", linewidth=0.8)
                ax.set_xlabel("logit of the OOS rank")
            what = "by score" if key == BY_SCORE else f"{key}-bar Sharpe"
            ax.set_title(
                f"{model}, {what}: PBO {_f(o.get('pbo'), '.2f')} (N={o.get('n_trials', 0)})",
                fontsize=9,
            )
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _reliability_plot(path: Path, data: Phase1Data, model: str, report: dict[str, Any]) -> None:
    """One panel per horizon: per class, observed frequency against mean predicted probability
    of the val rows in each probability bin (from the metrics JSON), each point labelled with
    its bin's row count, and the diagonal."""
    import matplotlib.pyplot as plt

    horizons = data.horizons
    fig, axes = plt.subplots(1, len(horizons), figsize=(3.6 * len(horizons), 3.4), squeeze=False)
    for ax, h in zip(axes[0], horizons, strict=True):
        bins = report["horizons"][str(h)]["val"].get(RELIABILITY)
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle="--")
        if bins:
            for c, label in enumerate(("short", "flat", "long")):
                per_bin = zip(
                    bins["mean_predicted"][c], bins["observed"][c], bins["count"][c], strict=True
                )
                points = [(p, o, n) for p, o, n in per_bin if p is not None and o is not None]
                if points:
                    xs, ys, _ = zip(*points, strict=True)
                    (line,) = ax.plot(xs, ys, marker="o", markersize=3, linewidth=1, label=label)
                    for x, y, n in points:  # rows in the bin: a point of 3 rows says little
                        ax.annotate(f"{n}", (x, y), fontsize=5, color=line.get_color(),
                                    xytext=(2, 2), textcoords="offset points")  # fmt: skip
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title(f"{model}, {h}-bar", fontsize=9)
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("observed frequency")
        ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def write_optuna_plots(
    reports_dir: Path, model: str, url: str, name: str, *, exported: int | None = None
) -> str:
    """History and parameter importances (and a Pareto search's front, trial `exported`
    starred) as PNG and HTML; returns a note when one is missing."""
    import matplotlib
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as optuna_mpl

    from harness.storage import open_storage

    files = optuna_files(model)
    study = optuna.load_study(study_name=name, storage=open_storage(url))
    figures = []
    notes = []
    # rc_context: Optuna's matplotlib plots switch the global style to ggplot; undo that after.
    with warnings.catch_warnings(), matplotlib.rc_context():
        warnings.simplefilter("ignore")  # Optuna's matplotlib plots are "experimental"
        front = reports_dir / files["pareto_png"]
        if is_pareto(study.directions):
            figures.append(_pareto_plot(front, study, exported))
        else:
            front.unlink(missing_ok=True)  # an earlier export's, of another study
        # a Pareto search's history: the score, which picks the member of the front exported
        history: dict[str, Any] = {}
        if is_pareto(study.directions):
            history = {"target": score_of, "target_name": "score"}
        ax = optuna_mpl.plot_optimization_history(study, **history)
        _save(ax.figure, reports_dir / files["history_png"])
        plt.close(ax.figure.figure)  # the root Figure (`ax.figure` may be a SubFigure)
        figures.append(optuna.visualization.plot_optimization_history(study, **history))
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        varying = {
            param
            for t in complete
            for param in t.params
            if len({repr(u.params.get(param)) for u in complete}) > 1
        }
        try:
            if len(complete) < 2 or not varying:
                # Optuna would still draw a bar (one trial: importance 1.0), which means nothing.
                raise ValueError(
                    f"{len(complete)} complete trial(s) and {len(varying)} parameter(s) that "
                    "vary among them; importances need at least 2 and 1"
                )
            ax = optuna_mpl.plot_param_importances(study)
            _save(ax.figure, reports_dir / files["importance_png"])
            plt.close(ax.figure.figure)
            figures.append(optuna.visualization.plot_param_importances(study))
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            (reports_dir / files["importance_png"]).unlink(missing_ok=True)
            notes.append(f"No parameter importances: {exc}.")
    page = html_page(f"{model}: Optuna study {name}", [figure_html(f) for f in figures])
    _write_text(reports_dir / files["html"], page)
    return " ".join(notes)


def _pareto_plot(path: Path, study: optuna.Study, exported: int | None) -> Any:
    """Optuna's Pareto-front plot (the first three objectives of more) as a PNG, the exported
    trial starred; returns the interactive figure of the same."""
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as optuna_mpl

    shown = min(len(study.directions), 3)
    names = (study.metric_names or [f"objective {k}" for k in range(shown)])[:shown]
    options: dict[str, Any] = {"target_names": names}
    if len(study.directions) > shown:
        options["targets"] = lambda t: tuple(t.values[:shown])
    ax = optuna_mpl.plot_pareto_front(study, **options)
    member = [t for t in study.get_trials(deepcopy=False) if t.number == exported]
    if member and member[0].values is not None:
        star: dict[str, Any] = {"marker": "*", "s": 260, "color": "crimson", "zorder": 5}
        # x, y (and z on the 3-D axes of three objectives)
        ax.scatter(*member[0].values[:shown], **star, label=f"exported: trial {exported}")
        ax.legend(fontsize=8)
    ax.set_title(f"Pareto front of study {study.study_name}", fontsize=9)
    _save(ax.figure, path)
    plt.close(ax.figure.figure)
    return optuna.visualization.plot_pareto_front(study, **options)
