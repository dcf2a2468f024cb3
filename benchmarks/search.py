"""Pruning and parallel workers on the demo data, measured.

    python benchmarks/search.py [--model nhits] [--trials 20] [--seed 0]

1. The same number of trials with the model's configured pruner and with no pruning: epochs
   trained, wall time, best score reached (same sampler seed, so the same first configs).
2. Trials per hour with 1 and 2 worker processes (the configured pruner).
Each run is a fresh SQLite study in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import yaml
from optuna.trial import TrialState

from harness.search.workers import SearchRequest, plan_search, run_search

ROOT = Path(__file__).resolve().parents[1]


def run(model: str, trials: int, *, seed: int, jobs: int, objective: Path, folder: Path) -> dict:
    request = SearchRequest(
        model=model,
        trials=trials,
        space_file=ROOT / "search_spaces" / f"{model}.yaml",
        objective_file=objective,
        storage=f"sqlite:///{folder}/bench.db",
        study=f"bench-{time.time_ns()}",
        jobs=jobs,
        seed=seed,
        profile="cpu",
    )
    prepared = plan_search(request, say=lambda _: None)
    start = time.perf_counter()
    done = run_search(prepared)
    wall = time.perf_counter() - start
    finished = [t for t in done if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    complete = [t.value for t in done if t.state == TrialState.COMPLETE]
    return {
        "trials": len(finished),
        "pruned": sum(t.state == TrialState.PRUNED for t in done),
        "epochs": sum(t.user_attrs.get("epochs", 0) for t in finished),
        "wall": wall,
        "best": max(complete) if complete else float("nan"),
        "per_hour": len(finished) / wall * 3600,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="nhits")
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.chdir(folder)  # no Phase 1 data here: the demo dataset
        configured = ROOT / "objectives" / f"{args.model}.yaml"
        spec = yaml.safe_load(configured.read_text())
        pruner = spec["pruner"]
        spec["pruner"] = {"type": "none"}
        unpruned = folder / "no-pruning.yaml"
        unpruned.write_text(yaml.safe_dump(spec))

        rows = {}
        for name, objective in ((f"{pruner['type']} pruner", configured), ("no pruning", unpruned)):
            rows[name] = run(
                args.model, args.trials, seed=args.seed, jobs=1, objective=objective, folder=folder
            )
        print(f"model={args.model} trials={args.trials} seed={args.seed} (demo data, cpu profile)")
        print("| search | trials | pruned | epochs trained | wall time | best score |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, r in rows.items():
            print(
                f"| {name} | {r['trials']} | {r['pruned']} | {r['epochs']} | {r['wall']:.0f} s "
                f"| {r['best']:.4f} |"
            )
        base = rows["no pruning"]
        pruned = rows[f"{pruner['type']} pruner"]
        print(f"\nepochs with pruning / without: {pruned['epochs'] / base['epochs']:.0%}")

        print("\n| workers | trials | wall time | trials/hour |")
        print("|---:|---:|---:|---:|")
        for jobs in (1, 2):
            r = (
                rows[f"{pruner['type']} pruner"]
                if jobs == 1
                else run(
                    args.model,
                    args.trials,
                    seed=args.seed,
                    jobs=jobs,
                    objective=configured,
                    folder=folder,
                )
            )
            print(f"| {jobs} | {r['trials']} | {r['wall']:.0f} s | {r['per_hour']:.0f} |")


if __name__ == "__main__":
    main()
