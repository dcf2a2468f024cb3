"""Command line: parse, call the API, print. Nothing imports this module."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from harness import DEFAULT_STORAGE, MODEL_NAMES
from harness.errors import HarnessError

if TYPE_CHECKING:  # imported where used: `harness --help` should not wait for torch
    from harness.data import Phase1Data
    from harness.search import Prepared
    from harness.training import Caps

console = Console()
errors = Console(stderr=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    # Library warnings (a purge, say) are for the user: one line, no source location.
    warnings.formatwarning = lambda message, category, *_a, **_k: f"warning: {message}\n"
    try:
        return args.run(args) or 0
    except HarnessError as exc:
        errors.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        errors.print("interrupted.", highlight=False)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness", description="Phase 2 search harness: tune, finalize, export."
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("demo-data", help="write a synthetic Phase 1 dataset")
    p.add_argument("--out", type=Path, required=True, help="folder to write data/ and config/ into")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--days", type=int, default=None, help="trading days per symbol")
    p.set_defaults(run=_demo_data)

    p = sub.add_parser("check-data", help="validate a Phase 1 dataset and summarize it")
    _data_arg(p)
    p.set_defaults(run=_check_data)

    p = sub.add_parser("train", help="train one model with its default config")
    p.add_argument("--model", required=True, choices=MODEL_NAMES)
    _data_arg(p)
    _caps_args(p)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value (repeatable), e.g. --set learning_rate=3e-4",
    )
    p.add_argument("--seed", type=int, default=0)
    _profile_arg(p)
    p.add_argument(
        "--log",
        type=Path,
        default=None,
        help="epoch-by-epoch log file (default: results/train/{model}_training.log)",
    )
    p.set_defaults(run=_train)

    p = sub.add_parser("search", help="tune a model with Optuna; resumable, parallel")
    p.add_argument(
        "--model",
        required=True,
        choices=(*MODEL_NAMES, "all"),
        help="a model, or all of them one after the other",
    )
    p.add_argument(
        "--trials",
        type=int,
        default=50,
        help="finished trials the study should hold (a rerun completes the rest)",
    )
    _data_arg(p)
    _storage_args(p)
    p.add_argument("--jobs", type=int, default=1, help="worker processes on this machine")
    p.add_argument(
        "--timeout", type=float, default=None, help="stop starting trials after S seconds"
    )
    p.add_argument("--seed", type=int, default=0, help="study seed (sampler, trial seeds)")
    _profile_arg(p)
    _caps_args(p)
    p.add_argument("--space", type=Path, default=None, help="default: search_spaces/{model}.yaml")
    p.add_argument("--objective", type=Path, default=None, help="default: objectives/{model}.yaml")
    p.set_defaults(run=_search)

    p = sub.add_parser("finalize", help="retrain the best trials, export what Phase 3 reads")
    p.add_argument("--model", default="all", choices=(*MODEL_NAMES, "all"))
    _data_arg(p)
    _storage_args(p)
    p.add_argument("--out", type=Path, default=Path("results"), help="default: results/")
    p.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="train K seeds of the best config and average their probabilities",
    )
    _caps_args(p)
    p.set_defaults(run=_finalize)

    p = sub.add_parser("verify-results", help="check a results folder as Phase 3 would")
    p.add_argument("--out", type=Path, default=Path("results"), help="default: results/")
    _data_arg(p)
    p.set_defaults(run=_verify)

    p = sub.add_parser("status", help="studies in a storage: trials by state, best, best params")
    p.add_argument("--storage", default=DEFAULT_STORAGE)
    p.set_defaults(run=_status)

    p = sub.add_parser("dashboard", help="optuna-dashboard on the storage, bound to localhost")
    p.add_argument("--storage", default=DEFAULT_STORAGE)
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(run=_dashboard)
    return parser


def _caps_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, default=None, help="cap epochs (smoke runs)")
    p.add_argument(
        "--max-batches",
        type=int,
        default=None,
        help="cap batches per epoch and per evaluation (smoke runs)",
    )


def _profile_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--profile",
        default=None,
        help="the sizes to train at: seed (the seed's, for a GPU), cpu, or a profile of the YAML "
        "files; default: seed on a CUDA GPU, cpu on a CPU",
    )


def _storage_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--storage",
        default=DEFAULT_STORAGE,
        help=f"Optuna storage URL (default {DEFAULT_STORAGE}; postgresql://... to share)",
    )
    p.add_argument("--study", default=None, help="study name (default: from model and dataset)")


def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="folder laid out as Phase 1 leaves it (data/final, config/splits); default: the "
        "current folder, or the demo dataset when it holds no Phase 1 data",
    )


def _load(args: argparse.Namespace) -> Phase1Data:
    from harness.data import load_dataset

    return load_dataset(args.data, say=_say)


def _demo_data(args: argparse.Namespace) -> int:
    from harness.data.demo import DEFAULT_DAYS, make_demo

    info = make_demo(args.out, seed=args.seed, days=args.days or DEFAULT_DAYS)
    console.print(f"wrote {info}", highlight=False)
    return 0


def _check_data(args: argparse.Namespace) -> int:
    data = _load(args)
    from harness.data.summary import summarize

    s = summarize(data)
    console.print(
        f"[bold]{s.root}[/]: {s.n_rows} rows, {s.n_features} features, horizons "
        f"{', '.join(map(str, s.horizons))}, {s.bars_per_year:,.0f} bars per year",
        highlight=False,
        soft_wrap=True,
    )
    table = Table(
        "symbol",
        "rows",
        "first",
        "last",
        "train",
        "val",
        "test",
        "gap train→val",
        "gap val→test",
        title="rows per symbol and split",
    )
    for row in s.symbols:
        table.add_row(
            row.symbol,
            str(row.rows),
            row.first,
            row.last,
            *(str(row.split_rows[k]) for k in ("train", "val", "test")),
            str(row.gap_train_val),
            str(row.gap_val_test),
        )
    console.print(table)
    labels = Table("horizon", "split", "-1", "0", "+1", title="label shares")
    for h, by_split in s.label_shares.items():
        for split, shares in by_split.items():
            labels.add_row(str(h), split, *(f"{v:.1%}" for v in shares))
    console.print(labels)
    if s.n_purged:
        console.print(f"{s.n_purged} train rows purged (labels reaching into val).")
    return 0


def _parse_sets(items: list[str]) -> dict[str, object]:
    import yaml

    values = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise HarnessError(f"--set {item!r}: expected KEY=VALUE")
        value = yaml.safe_load(text)
        if isinstance(value, str):  # PyYAML reads 1e-4 as a string
            with contextlib.suppress(ValueError):
                value = float(value)
        values[key.strip()] = value
    return values


def _caps(args: argparse.Namespace) -> Caps:
    from harness.training import Caps

    return Caps(epochs=args.epochs, batches=args.max_batches)


def _train(args: argparse.Namespace) -> int:
    from harness.search import Recipe
    from harness.training import EpochLog, epoch_table_header, epoch_table_row

    profile = _profile(args, [args.model])
    data = _load(args)
    recipe = Recipe.load(args.model, data, profile=profile, caps=_caps(args))
    run = recipe.default_run(_parse_sets(args.set))
    prepared = recipe.prepared(run)
    log = args.log or Path("results/train") / f"{args.model}_training.log"
    console.print(
        f"training {args.model} on {len(prepared.train)} windows, validating on "
        f"{len(prepared.val)} ({prepared.device}); log: {log}",
        highlight=False,
    )
    with EpochLog(log, run) as write:
        console.print(epoch_table_header(data.horizons), highlight=False, soft_wrap=True)

        def report(entry: dict[str, Any]) -> None:
            write(entry)
            console.print(epoch_table_row(entry, data.horizons), highlight=False, soft_wrap=True)

        result = recipe.train(run, seed=args.seed, report=report, progress=console.is_terminal)
    console.print(
        f"best epoch {result.best_epoch}: score {result.score:.4f} "
        f"({result.epochs} epochs, {result.seconds:.0f} s)",
        highlight=False,
    )
    return 0


def _search(args: argparse.Namespace) -> int:
    models = MODEL_NAMES if args.model == "all" else (args.model,)
    if args.study and len(models) > 1:
        raise HarnessError("--study names one study: give it with one --model, not 'all'")
    profile = _profile(args, models, space=args.space, objective=args.objective)
    for model in models:
        code = _search_one(args, model, profile)
        if code:
            return code
    return 0


def _search_one(args: argparse.Namespace, model: str, profile: str) -> int:
    from harness.search import SearchDisplay, SearchRequest, prepare_search, run_search

    request = SearchRequest(
        model=model,
        trials=args.trials,
        space_file=args.space,
        objective_file=args.objective,
        data=args.data,
        storage=args.storage,
        study=args.study,
        jobs=args.jobs,
        timeout=args.timeout,
        seed=args.seed,
        caps=_caps(args),
        profile=profile,
    )
    prepared = prepare_search(request, say=_say)
    _estimate(prepared, trials=args.trials - prepared.finished)
    display = SearchDisplay(console, study=prepared.study_name, target=args.trials)
    try:
        with display:
            trials = run_search(prepared, on_trial=display.trial_done, on_tick=display.tick)
    except KeyboardInterrupt:
        errors.print(
            f"interrupted: the running trial is marked failed, finished trials are kept. "
            f"Run the same command to finish the remaining trials of {prepared.study_name!r}.",
            highlight=False,
            soft_wrap=True,
        )
        return 130
    display.summary(trials)
    return 0


def _finalize(args: argparse.Namespace) -> int:
    from harness.data import load_dataset
    from harness.finalize import finalize
    from harness.search import (
        Recipe,
        choose_profile,
        default_study_name,
        find_study,
        open_storage,
        recorded_choice,
        recorded_profile,
    )
    from harness.training import device_for_training

    models = MODEL_NAMES if args.model == "all" else (args.model,)
    if args.study and len(models) > 1:
        raise HarnessError("--study names one study: give it with one --model, not 'all'")
    notes: list[str] = []  # said after the profile line, which needs the data's studies
    data = load_dataset(args.data, say=notes.append)
    # Each model retrains at the profile its study recorded (the budget it searched with),
    # whatever this machine's device; the device's profile only names a study not found.
    device = choose_profile(None, device_for_training())
    storage = open_storage(args.storage)
    names: dict[str, str] = {}
    for m in models:
        default = default_study_name(m, data, device.name)
        names[m] = args.study or find_study(storage, m, data, default=default)
    recorded = {m: (names[m], recorded_profile(storage, names[m])) for m in models}
    _say(recorded_choice(recorded, device).line)
    for line in notes:
        _say(line)
    finalize(  # raises, after exporting the rest, when a model fails; names the report last
        recipes=[
            Recipe.load(m, data, profile=recorded[m][1] or device.name, caps=_caps(args))
            for m in models
        ],
        storage=args.storage,
        study_names=names,
        out=args.out,
        seeds=args.seeds,
        say=_say,
    )
    return 0


def _verify(args: argparse.Namespace) -> int:
    from harness.finalize import verify_results

    problems = verify_results(args.out, _load(args))
    if problems:
        errors.print("\n".join(problems), highlight=False, soft_wrap=True)
        return 1
    _say(f"{args.out}: every file is present, aligned with the validation split and reproducible.")
    return 0


def _status(args: argparse.Namespace) -> int:
    from harness.search import open_storage, status_table

    console.print(status_table(open_storage(args.storage)))
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    import subprocess

    from harness.search import open_storage

    open_storage(args.storage)  # a clear error for a bad URL, before the server starts
    console.print(f"optuna-dashboard on http://127.0.0.1:{args.port} (Ctrl-C stops it)")
    # the executable installed beside this Python, whatever the PATH
    exe = Path(sys.executable).with_name("optuna-dashboard")
    cmd = [str(exe), args.storage, "--host", "127.0.0.1", "--port", str(args.port)]
    return subprocess.call(cmd)


def _profile(
    args: argparse.Namespace,
    models: Sequence[str],
    *,
    space: Path | None = None,
    objective: Path | None = None,
) -> str:
    """The profile of `train` and `search`, checked against each model's files, and the first
    line they print: which profile, and why."""
    from harness.search import choose_profile, load_files
    from harness.training import device_for_training

    choice = choose_profile(args.profile, device_for_training())
    for model in models:
        load_files(model, space, objective, profile=choice.name)
    _say(choice.line)
    return choice.name


def _estimate(prepared: Prepared, *, trials: int) -> None:
    """Time and memory, said before a search's first trial; nothing when no trial is left."""
    if trials < 1:
        return
    import torch

    from harness.search import estimate

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    jobs = prepared.request.jobs
    found = estimate(prepared.recipe, jobs=jobs, gpus=gpus, seed=prepared.request.seed)
    for line in found.lines(trials=trials, parallel=min(jobs, gpus) if gpus else 1):
        _say(line)


def _say(line: str) -> None:
    console.print(line, highlight=False, soft_wrap=True)
