"""One model's export: best trial -> retrain (K seeds) -> predictions, metrics, files, commit.

- The trial: the best COMPLETE trial of the model's study, trained on this dataset (its
  fingerprint), rebuilt from its stored flat config. Member k trains with seed
  ``seed_for(study seed, trial number) + k`` through the same recipe as the search (the
  objective's budget under the caps given), so member 1 is the trial's own run again (same
  weights on the same hardware).
- Validation rows: every model predicts every validation row, in the order of the split file,
  so all models share one ``predictions/val_index.parquet``, which depends on the data alone. A
  model whose seq_len leaves some validation row without a full window is not exported (a clear
  error; the other models go on) rather than exported on fewer rows: Phase 3 stacks the models
  row by row. On the demo data every validation row has more than 256 rows of history.
- Train metrics: on every train row with a full window (with a cap on evaluation batches, a smoke
  run, on as many recent train rows as its per-epoch evaluation scored).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import joblib
import numpy as np
import optuna
import torch
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial
from torch import nn

from harness.config import RunConfig
from harness.constants import DEFAULT_BLOCKS, FORMAT_VERSION
from harness.data import Phase1Data, PreparedData
from harness.errors import HarnessError
from harness.finalize.report import (
    SplitResult,
    interpretable,
    interpretation,
    score_split,
    tearsheet_html,
)
from harness.finalize.selection import selection_report
from harness.metrics import SCORE, train_val_gap
from harness.metrics.verdict import compare, sentence
from harness.modelfile import (
    EnsembleNet,
    layout,
    manifest,
    members,
    save_checkpoint,
    split_probs,
    val_index,
)
from harness.screen import duration
from harness.serialize import dump_json
from harness.staging import Staging
from harness.storage import BY_SCORE, load_study, pick_trial, redact
from harness.storage.pareto import score_of, trial_choice
from harness.training import Curves, FitResult, Recipe, epoch_line, eval_batch_size, seed_for


class ExportError(HarnessError):
    """One model cannot be exported (no study, no complete trial, other data...)."""


class WriteError(ExportError):
    """The results folder cannot be written (a full disk, a read-only folder): no model can
    be, so finalize stops at the first with this one line."""


@dataclass(frozen=True)
class ModelExport:
    """What one model's export wrote."""

    model: str
    study: str
    trial: int
    seeds: tuple[int, ...]
    files: tuple[Path, ...]
    summary: dict[str, Any]  # the content of reports/{model}_metrics.json


def check_val_covered(prepared: PreparedData, data: Phase1Data, model: str) -> None:
    """Phase 3 needs every model to predict every val row (docs/contracts.md), in one order."""
    covered = prepared.val.cpu().numpy()
    if len(covered) == len(data.val):
        return
    missing = np.setdiff1d(data.val, covered)
    raise ExportError(
        f"{model}: {len(missing)} of {len(data.val)} validation rows have fewer than "
        f"seq_len={prepared.seq_len} rows of history in their symbol ({data.locate(missing)}), "
        "so this model cannot predict them, and every model must predict every validation row "
        "for Phase 3. Search with a shorter seq_len, or give each symbol more rows before its "
        "validation period."
    )


def _study_seed(trial: FrozenTrial, study: optuna.Study) -> int:
    # The search does not record its --seed yet; 0 is its default.
    return int(trial.user_attrs.get("study_seed", study.user_attrs.get("seed", 0)))


def _timed_val_predict(
    net: nn.Module, data: PreparedData
) -> tuple[np.ndarray, dict[int, np.ndarray], float]:
    """Validation probabilities and their wall time (after one warm-up batch)."""
    with torch.no_grad():
        b = data.batch(data.val[:8])
        net(b.x, b.symbol)  # lazy initialization, cuDNN autotuning: not inference speed
    start = time.perf_counter()
    rows, probs = split_probs(net, data, "val")
    return rows, probs, time.perf_counter() - start


def _epoch_report(
    member: str, epochs: int, *, log: TextIO, say: Callable[[str], None]
) -> Callable[[dict[str, Any]], None]:
    """Each epoch of a member: its log line, and a line said with its score and the best."""
    scores: list[float] = []

    def write(entry: dict[str, Any]) -> None:
        log.write(epoch_line(entry) + "\n")
        scores.append(entry[SCORE])
        say(
            f"{member}: epoch {len(scores)}/{epochs}  score {scores[-1]:.4f}  "
            f"best {max(scores):.4f}  {duration(entry['seconds'])}"
        )

    return write


def _train_members(
    recipe: Recipe,
    run: RunConfig,
    *,
    seeds: list[int],
    log: TextIO,
    say: Callable[[str], None],
    curves: Curves | None = None,
) -> list[FitResult]:
    fits = []
    for k, seed in enumerate(seeds):
        device = recipe.prepared(run).device
        member = f"{run.model} member {k + 1}/{len(seeds)}"
        say(f"{member}: training (seed {seed}) on {device}")
        log.write(f"member {k + 1}/{len(seeds)} seed {seed}\n")
        write = _epoch_report(member, recipe.budget.max_epochs, log=log, say=say)
        result = recipe.train(  # as the search trained the trial
            run,
            seed=seed,
            on_epoch=write,
            curves=None if curves is None else curves.run(f"finalize_member_{k + 1}"),
        )
        log.write(
            f"best epoch {result.best_epoch}: score {result.score:.5f} "
            f"({result.epochs} epochs, {result.seconds:.1f}s)\n"
        )
        fits.append(result)
    return fits


def export_model(
    recipe: Recipe,
    *,
    storage: BaseStorage,
    storage_url: str,
    study_name: str,
    out: Path,
    seeds: int,
    say: Callable[[str], None],
    artifacts: Path | None = None,
    pbo_blocks: int = DEFAULT_BLOCKS,
    reference: Mapping[int, np.ndarray] | None = None,
    curves: Curves | None = None,
    number: int | None = None,
) -> ModelExport:
    """Retrain the best complete trial of `study_name` (or its trial `number`; a Pareto
    search's best is the chosen member of its front, ``storage.pareto``) and write the model's
    whole set.

    `artifacts`: the folder the study's trials stored their val predictions in (for the
    probability of backtest overfitting, `pbo_blocks` blocks); None: none. `reference`: the
    reference's val probabilities per horizon, which the model's are compared with. `curves`:
    the study's training curves, where member k logs as run ``finalize_member_{k}``, replacing
    an earlier finalize's."""
    model, data = recipe.model, recipe.data
    study = load_study(storage, storage_url, study_name, model)
    trial = pick_trial(study, storage_url, model, data, number)
    choice = trial_choice(study, trial, asked=number is not None)
    recorded = study.user_attrs.get("profile")
    if recorded is not None and recorded != recipe.profile:  # the budget would not be the trial's
        raise ExportError(
            f"{model}: study {study_name!r} searched at profile {recorded!r}, and this recipe "
            f"is sized for {recipe.profile!r}; load the recipe with profile={recorded!r}"
        )
    run = RunConfig.from_flat(
        trial.user_attrs["config"], where=f"study {study_name!r} trial {trial.number}: config"
    )
    prepared = recipe.prepared(run)
    check_val_covered(prepared, data, model)
    base = seed_for(_study_seed(trial, study), trial.number)
    member_seeds = [base + k for k in range(seeds)]
    which = (
        f"best trial {trial.number} of study {study_name!r}"
        if not (choice["pareto"] or choice["asked"])
        else f"trial {trial.number} of study {study_name!r}, {choice['why']}"
    )
    say(f"{model}: {which} (score {choice['score']:.4f}); retraining {seeds} member(s)")

    with writing_into(model, out):
        stage = Staging(out, model)
    try:
        with writing_into(model, out), stage.path(layout.training_log(model)).open("w") as log:
            log.write(f"config {json.dumps(run.to_flat(), sort_keys=True)}\n")  # as EpochLog
            log.write(f"study {study_name} trial {trial.number} score {choice['score']}\n")
            fits = _train_members(recipe, run, seeds=member_seeds, log=log, say=say, curves=curves)
        net = fits[0].net if len(fits) == 1 else EnsembleNet([f.net for f in fits]).eval()
        say(f"{model}: predicting and scoring the val and train rows (vectorbt backtests)")
        summary, val, logits = _evaluate(
            recipe,
            run,
            net,
            fits,
            study=study,
            trial=trial,
            storage_url=storage_url,
            member_seeds=member_seeds,
            artifacts=artifacts,
            pbo_blocks=pbo_blocks,
            reference=reference,
        )
        summary["trial_choice"] = choice
        say(f"{model}: writing its files (checkpoint, predictions, metrics, tearsheets)")
        with writing_into(model, out):
            _write_logits(stage, model, prepared.spec.horizons, logits)
            _write_set(  # last: the manifest of every file of the set
                stage, net, prepared, data, run, val, summary, trial, study_name, member_seeds
            )
            files = stage.commit()
    finally:
        stage.discard()
    say(f"{model}: exported {len(files)} files to {out}")
    return ModelExport(
        model=model,
        study=study_name,
        trial=trial.number,
        seeds=tuple(member_seeds),
        files=tuple(files),
        summary=summary,
    )


@contextlib.contextmanager
def writing_into(model: str, out: Path) -> Iterator[None]:
    """A write into `out` that fails (a full disk, a read-only folder) is one line naming it;
    the staged set is discarded, so nothing of it is kept."""
    try:
        yield
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        raise WriteError(
            f"{model}: cannot write its files into {out} ({exc.strerror or exc}{where}); free "
            "space there or pass another --out"
        ) from None


def _evaluate(
    recipe: Recipe,
    run: RunConfig,
    net: nn.Module,
    fits: list[FitResult],
    *,
    study: optuna.Study,
    trial: FrozenTrial,
    storage_url: str,
    member_seeds: list[int],
    artifacts: Path | None,
    pbo_blocks: int,
    reference: Mapping[int, np.ndarray] | None = None,
) -> tuple[dict[str, Any], SplitResult, dict[str, list[float]]]:
    """Predict val (all rows) and train, score both, and assemble reports/{model}_metrics.json;
    also the PBO logits per horizon, which have a file of their own."""
    model, prepared, budget = recipe.model, recipe.prepared(run), recipe.budget
    horizons = prepared.spec.horizons
    cost = recipe.score.cost_bps
    bpy = prepared.bars_per_year  # per symbol, from train and val timestamps: as fit annualizes
    val_rows, val_probs, seconds = _timed_val_predict(net, prepared)
    # A smoke run (capped evaluations) scores as many recent train rows as its epochs did.
    scored = None if budget.eval_batches is None else budget.eval_batches * eval_batch_size(run)
    train_rows = prepared.tail("train", scored)
    train_rows_np, train_probs = split_probs(net, prepared, train_rows)
    val = score_split(val_rows, val_probs, prepared, bars_per_year=bpy, cost_bps=cost)
    train = score_split(train_rows_np, train_probs, prepared, bars_per_year=bpy, cost_bps=cost)
    gap = train_val_gap(train.metrics, val.metrics)

    selected = selection_report(
        study.get_trials(deepcopy=False),
        recipe.data,
        best_val_pred={h: val.pred(h) for h in horizons},
        val_rows=val_rows,
        bars_per_year=bpy,
        score=recipe.score,
        artifacts=artifacts,
        n_blocks=pbo_blocks,
    )
    per_horizon: dict[str, Any] = {}
    for h in horizons:
        per_horizon[str(h)] = {
            "train": train.metrics[h],
            "val": val.metrics[h],
            "train_val_gap": gap[str(h)],
            "deflated_sharpe": selected["deflated_sharpe"][h],
            "pbo": selected["overfitting"][str(h)]["pbo"],  # overfitting[h] has the details
        }
        if reference is not None:  # both over every val row, in the split file's order
            labels = prepared.labels[torch.as_tensor(val_rows, device=prepared.device)]
            found = compare(labels[:, horizons.index(h)].cpu().numpy(), val.probs[h], reference[h])
            per_horizon[str(h)]["versus_reference"] = {
                **found,
                "sentence": sentence(model, h, found),
            }
    first = members(net)[0]
    summary = {
        "format_version": FORMAT_VERSION,
        "model": model,
        "study": study.study_name,
        "storage": redact(storage_url),
        "trial": trial.number,
        "trial_score": score_of(trial),
        "data_fingerprint": prepared.fingerprint,
        "horizons": per_horizon,
        "train_val_gap": gap,  # relative macro-F1 drop, (train - val) / train, per horizon
        "selection": selected["selection"],
        "overfitting": {  # the logits go to their own file (layout.pbo_logits)
            h: {k: v for k, v in o.items() if k != "logits"}
            | {"n_splits": len(o.get("logits") or [])}
            for h, o in selected["overfitting"].items()
        },
        "training": {
            "seconds": sum(f.seconds for f in fits),
            "seeds": member_seeds,
            "epochs": [f.epochs for f in fits],
            "best_epoch": [f.best_epoch for f in fits],
            "best_score": [f.score for f in fits],
            "device": str(prepared.device),
        },
        "inference": {
            "windows": len(val_rows),
            "seconds": seconds,
            "windows_per_second": len(val_rows) / seconds if seconds > 0 else None,
            "device": str(prepared.device),
            "members": len(fits),
        },
        "n_parameters": sum(p.numel() for p in first.parameters()),
        "rows": {
            "val": len(val_rows),
            "train_scored": len(train_rows_np),
            "train": len(prepared.train),
            "dropped_train_no_history": prepared.dropped["train"],
        },
        "bars_per_year": bpy,
        "sharpe_note": (
            "Sharpe ratios are annualized per symbol with its bars_per_year, counted from its "
            "train and val timestamps only; the all-symbol Sharpe is the mean of the symbols' "
            "annualized Sharpes (by_symbol gives each). psr is the probabilistic Sharpe ratio of "
            "the all-symbol bar returns, P[true Sharpe > 0], the same at every bar length."
        ),
        "cost_bps": cost,
        "score": recipe.score.model_dump(mode="json"),
        "budget": budget.model_dump(mode="json"),
        "config": trial.user_attrs["config"],
        "seq_len": prepared.seq_len,
        "window_end": prepared.window_end,
    }
    logits = {h: list(o.get("logits") or []) for h, o in selected["overfitting"].items()}
    return summary, val, logits


def _write_logits(
    stage: Staging, model: str, horizons: tuple[int, ...], logits: dict[str, list[float]]
) -> None:
    """reports/{model}_pbo_logits.npz: float32 [n_splits] per horizon (`h{h}`) and of the score
    (`score`), empty where no PBO."""
    arrays: dict[str, Any] = {f"h{h}": np.asarray(logits[str(h)], np.float32) for h in horizons}
    arrays[BY_SCORE] = np.asarray(logits[BY_SCORE], np.float32)
    np.savez_compressed(stage.path(layout.pbo_logits(model)), **arrays)


def _write_set(
    stage: Staging,
    net: nn.Module,
    prepared: PreparedData,
    data: Phase1Data,
    run: RunConfig,
    val: SplitResult,
    summary: dict[str, Any],
    trial: FrozenTrial,
    study_name: str,
    member_seeds: list[int],
) -> None:
    model = run.model
    if not np.array_equal(val.rows, data.val):  # predict_proba walks val in its stored order
        raise RuntimeError(f"{model}: predicted rows are not the validation rows in order")
    save_checkpoint(
        stage.path(layout.checkpoint(model)),
        net,
        run=run,
        seeds=member_seeds,
        data=prepared,
        study=study_name,
        trial=trial.number,
    )
    joblib.dump(prepared.scaler, stage.path(layout.scaler(model)))  # the seed's name; never read
    stage.path(layout.scaler_json(model)).write_text(
        dump_json(
            {
                "format_version": FORMAT_VERSION,
                "feature_names": list(prepared.spec.feature_names),
                "mean": prepared.scaler.mean_,
                "scale": prepared.scaler.scale_,  # x_std = (x - mean) / scale
            }
        )
    )
    for h in prepared.spec.horizons:
        np.save(stage.path(layout.val_probs(model, h)), val.probs[h].astype(np.float32))
    val_index(data).to_parquet(stage.path(layout.VAL_INDEX), index=False)
    stage.path(layout.metrics(model)).write_text(dump_json(summary))
    for h in prepared.spec.horizons:
        page = tearsheet_html(
            model=model,
            horizon=h,
            metrics=val.metrics[h],
            portfolios=val.portfolios[h],
            cost_bps=summary["cost_bps"],
        )
        stage.path(layout.tearsheet(model, h)).write_text(page)
    if interpretable(net):
        stage.path(layout.interpretation(model)).write_text(
            dump_json({"model": model, **interpretation(net, prepared)})
        )
    files = layout.model_files(model, prepared.spec.horizons, interpretable=interpretable(net))
    stage.path(layout.manifest(model)).write_text(
        dump_json(manifest(model, {f: stage.path(f) for f in files}))
    )
