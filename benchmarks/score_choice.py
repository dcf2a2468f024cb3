"""Which score selects trials that hold up: the PSR Sharpe term or the annualized Sharpe term.

    python benchmarks/score_choice.py --data demo|DIR [--model nhits] [--trials 16] [--seed 0]
                                      [--mode replay|search] [--json FILE]
    python benchmarks/score_choice.py --judge FILE [FILE ...]   # replays saved with --json

Each symbol's val rows are cut in two. The first half is all the search sees: it scores every
epoch, picks each trial's best epoch, prunes, and picks the best trial. The second half, after a
20-bar purge (the first half's last labels look 20 bars ahead), is held out; every epoch is also
scored there, so each trial's held-out figures at the epoch the rule picked are known.

- ``replay``: `--trials` random configs of the model's space, no pruning and no early stopping,
  every epoch recorded once; each candidate rule then picks epochs and the best trial from the
  same record. The rules differ in what they select, not in what got trained.
- ``--judge``: the rules judged again on replays saved with --json, and the means over them
  (the rules are cheap; the trials are not).
- ``search``: one real search per rule (the objective's sampler and pruner, early stopping on
  the rule's score), the best trial read on the held-out half.

Per rule: the held-out macro-F1, annualized Sharpe (mean of the symbols') and PSR of the
selected trial (means over horizons), and the Spearman rank correlation over the complete
trials between the score they were selected on and their held-out macro-F1 and Sharpe.

Trials train at the `cpu` profile: the objective's `cpu` budget (every epoch of it, in a
replay: patience is set to the epoch count) and the space file's sizes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import optuna
import torch
from lightning.pytorch.callbacks import Callback
from optuna_integration import PyTorchLightningPruningCallback
from scipy.stats import spearmanr

from harness.config import ScoreConfig
from harness.data import Phase1Data, PreparedData, demo_root, load_phase1
from harness.metrics import (
    MACRO_F1,
    PSR,
    SCORE,
    SHARPE,
    TIMING_PSR,
    combine_score,
    evaluate_split,
)
from harness.modelfile import split_probs
from harness.training import Phase2Module, Recipe, seed_for

PURGE = 20
RULES: dict[str, dict[str, Any]] = {
    "F1 only": {"sharpe_weight": 0.0, "sharpe_term": "psr"},
    "PSR x 0.1": {"sharpe_weight": 0.1, "sharpe_term": "psr"},
    "PSR x 0.25": {"sharpe_weight": 0.25, "sharpe_term": "psr"},
    "PSR x 0.5": {"sharpe_weight": 0.5, "sharpe_term": "psr"},
    "PSR x 1": {"sharpe_weight": 1.0, "sharpe_term": "psr"},
    "PSR x 2": {"sharpe_weight": 2.0, "sharpe_term": "psr"},
    "timing x 0.1": {"sharpe_weight": 0.1, "sharpe_term": "timing"},
    "timing x 0.25": {"sharpe_weight": 0.25, "sharpe_term": "timing"},
    "timing x 0.5": {"sharpe_weight": 0.5, "sharpe_term": "timing"},
    "annualized x 0.005": {"sharpe_weight": 0.005, "sharpe_term": "annualized"},
    "annualized x 0.02": {"sharpe_weight": 0.02, "sharpe_term": "annualized"},
    "annualized x 0.05": {"sharpe_weight": 0.05, "sharpe_term": "annualized"},
}


def held_out(data: Phase1Data) -> tuple[Phase1Data, np.ndarray]:
    """The data with val cut to each symbol's first half, and the held-out second half."""
    symbols = data.frame["symbol"].to_numpy()
    first, second = [], []
    for s in data.symbols:
        rows = data.val[symbols[data.val] == s]
        half = len(rows) // 2
        first.append(rows[:half])
        second.append(rows[half + PURGE :])
    return dataclasses.replace(data, val=np.concatenate(first)), np.concatenate(second)


def brief(metrics: dict[int, dict[str, Any]]) -> dict[int, dict[str, float]]:
    return {
        h: {k: float(m[k]) for k in (MACRO_F1, SHARPE, PSR, TIMING_PSR)} for h, m in metrics.items()
    }


class HeldOut(Callback):
    """Scores the held-out rows after every validation, with the weights of that epoch."""

    def __init__(self, rows: np.ndarray, data: PreparedData, cost_bps: float) -> None:
        self.data = dataclasses.replace(data, train=torch.as_tensor(rows, device=data.device))
        self.cost_bps = cost_bps
        self.epochs: dict[int, dict[int, dict[str, float]]] = {}

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        assert isinstance(module, Phase2Module)
        if trainer.sanity_checking:
            return
        was_training = module.net.training
        rows, probs = split_probs(module.net, self.data, "train")
        module.net.train(was_training)
        labels = self.data.labels[torch.as_tensor(rows, device=self.data.device)].cpu().numpy()
        horizons = self.data.spec.horizons
        metrics = evaluate_split(
            {h: probs[h] for h in horizons},
            {h: labels[:, k] for k, h in enumerate(horizons)},
            self.data.close[rows],
            self.data.symbols[rows],
            bars_per_year=self.data.bars_per_year,
            cost_bps=self.cost_bps,
            positions=rows,
        )
        self.epochs[module.current_epoch] = brief(metrics)


def run_trials(
    recipe: Recipe, rows: np.ndarray, *, trials: int, seed: int, prune: bool
) -> list[dict[str, Any]]:
    """Trials of `recipe`; per complete trial, each epoch's first-half and held-out metrics."""
    records: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        run = recipe.space.suggest(trial)
        prepared = recipe.prepared(run)
        held = HeldOut(rows, prepared, recipe.score.cost_bps)
        entries: list[dict[str, Any]] = []
        callbacks: list[Callback] = [held]
        if prune:
            callbacks.append(PyTorchLightningPruningCallback(trial, monitor=SCORE))
        result = recipe.train(
            run, seed=seed_for(seed, trial.number), callbacks=callbacks, on_epoch=entries.append
        )
        records.append(
            {
                "number": trial.number,
                "best_epoch": result.best_epoch,
                "first": [brief(e["val"]) for e in result.history],
                "second": [held.epochs[e["epoch"]] for e in result.history],
            }
        )
        return result.score

    spec = recipe.objective
    sampler = spec.make_sampler(seed) if prune else optuna.samplers.RandomSampler(seed=seed)
    pruner = spec.make_pruner(recipe.budget) if prune else optuna.pruners.NopPruner()
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    study.optimize(objective, n_trials=trials, catch=(RuntimeError,))
    return records


def mean_over(metrics: dict[int, dict[str, float]], key: str) -> float:
    return float(np.mean([m[key] for m in metrics.values()]))


def judge(records: list[dict[str, Any]], rule: dict[str, Any], *, replay: bool) -> dict[str, Any]:
    """The trial `rule` selects and how it holds up; in a replay the rule also picks epochs."""
    picked = []
    for r in records:
        scores = [
            combine_score(m, f1_weight=1.0, **rule)  # type: ignore[arg-type]
            for m in r["first"]
        ]
        epoch = int(np.argmax(scores)) if replay else r["best_epoch"]
        picked.append((scores[epoch], r["second"][epoch]))
    score = np.array([s for s, _ in picked])
    f1 = np.array([mean_over(m, MACRO_F1) for _, m in picked])
    sharpe = np.array([mean_over(m, SHARPE) for _, m in picked])
    psr = np.array([mean_over(m, PSR) for _, m in picked])
    timing = np.array([mean_over(m, TIMING_PSR) for _, m in picked])
    best = int(np.argmax(score))
    return {
        "trials": len(picked),
        "held_out_f1": float(f1[best]),
        "held_out_sharpe": float(sharpe[best]),
        "held_out_psr": float(psr[best]),
        "held_out_timing_psr": float(timing[best]),
        "rank_corr_f1": float(spearmanr(score, f1).statistic),
        "rank_corr_sharpe": float(spearmanr(score, sharpe).statistic),
        "rank_corr_timing_psr": float(spearmanr(score, timing).statistic),
        "mean_f1_of_all": float(f1.mean()),
        "mean_sharpe_of_all": float(sharpe.mean()),
    }


def _records(path: Path) -> list[dict[str, Any]]:
    """The trials of a replay saved with --json (JSON made the horizon keys strings)."""
    records = json.loads(path.read_text())["records"]["all"]
    for r in records:
        for key in ("first", "second"):
            r[key] = [{int(h): m for h, m in epoch.items()} for epoch in r[key]]
    return list(records)


def print_table(results: dict[str, dict[str, Any]]) -> None:
    print(
        "| rule | trials | held-out F1 | held-out Sharpe | held-out PSR | held-out timing PSR "
        "| rank corr F1 | rank corr Sharpe | rank corr timing PSR |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(
            f"| {name} | {r['trials']} | {r['held_out_f1']:.3f} | {r['held_out_sharpe']:.2f} "
            f"| {r['held_out_psr']:.3f} | {r.get('held_out_timing_psr', float('nan')):.3f} "
            f"| {r['rank_corr_f1']:.2f} | {r['rank_corr_sharpe']:.2f} "
            f"| {r.get('rank_corr_timing_psr', float('nan')):.2f} |"
        )


def judge_saved(paths: list[Path], rules: dict[str, dict[str, Any]]) -> None:
    """Each rule on each saved replay, then the means over the replays."""
    per_rule: dict[str, list[dict[str, Any]]] = {name: [] for name in rules}
    for path in paths:
        records = _records(path)
        for name, rule in rules.items():
            per_rule[name].append(judge(records, rule, replay=True))
    means = {
        name: {
            key: (
                sum(r[key] for r in rs) if key == "trials" else float(np.mean([r[key] for r in rs]))
            )
            for key in rs[0]
        }
        for name, rs in per_rule.items()
    }
    print(f"means over {len(paths)} replays: {', '.join(p.name for p in paths)}")
    print_table(means)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="demo", help="'demo' or a Phase 1 folder")
    p.add_argument("--model", default="nhits")
    p.add_argument(
        "--space",
        type=Path,
        default=Path(__file__).with_name("score_choice_nhits.yaml"),
        help="search space (default: a small N-HiTS one, beside this script)",
    )
    p.add_argument("--trials", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", choices=("replay", "search"), default="replay")
    p.add_argument("--rules", nargs="*", default=None, help="rule names (default: all)")
    p.add_argument("--json", type=Path, default=None, help="write the records and results here")
    p.add_argument("--judge", type=Path, nargs="+", default=None, help="saved replays to judge")
    args = p.parse_args()
    rules = {k: RULES[k] for k in (args.rules or RULES)}
    if args.judge:
        judge_saved(args.judge, rules)
        return
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    data = load_phase1(demo_root() if args.data == "demo" else Path(args.data))
    searched, rows = held_out(data)
    start = time.perf_counter()
    results: dict[str, Any] = {}
    records_by_rule: dict[str, Any] = {}
    if args.mode == "replay":
        recipe = Recipe.load(args.model, searched, profile="cpu", space_file=args.space)
        # Every epoch of every trial runs: each rule picks its own epochs afterwards.
        budget = recipe.objective.budget
        recipe.objective = recipe.objective.model_copy(
            update={"budget": budget.model_copy(update={"patience": budget.max_epochs})}
        )
        records = run_trials(recipe, rows, trials=args.trials, seed=args.seed, prune=False)
        records_by_rule["all"] = records
        results = {name: judge(records, rule, replay=True) for name, rule in rules.items()}
    else:
        for name, rule in rules.items():
            recipe = Recipe.load(args.model, searched, profile="cpu", space_file=args.space)
            score = ScoreConfig(**{**recipe.objective.score.model_dump(), **rule})
            recipe.objective = recipe.objective.model_copy(update={"score": score})
            records = run_trials(recipe, rows, trials=args.trials, seed=args.seed, prune=True)
            records_by_rule[name] = records
            results[name] = judge(records, rule, replay=False)
    wall = time.perf_counter() - start
    print(f"{args.data}, {args.model}, {args.mode}, seed {args.seed}: {wall:.0f} s")
    print_table(results)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "args": vars(args) | {"json": str(args.json)},
                    "results": results,
                    "records": records_by_rule,
                },
                default=str,
            )
        )


if __name__ == "__main__":
    main()
