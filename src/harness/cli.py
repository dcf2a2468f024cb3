"""Command line: parse, call the API, print. Nothing imports this module."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.errors import HarnessError
from harness.screen import fit, show
from harness.version import DEFAULT_STORAGE, MODEL_NAMES

if TYPE_CHECKING:  # imported where used: `harness --help` should not wait for torch
    from harness.config import Caps
    from harness.data import Phase1Data
    from harness.search import Prepared

# Markup off: study names, paths and params are printed as they are ("x[/]y" is a name).
console = Console(markup=False)
errors = Console(stderr=True, markup=False)

# What Ctrl-C leaves behind, per command; the line goes on with the command that resumes.
INTERRUPTED = {
    "search": "the running trial is marked failed, finished trials are kept. Resume with",
    "train": "training stopped; the log holds the epochs it finished. Run it again with",
    "finalize": "models exported before it are complete, the one in training was not written. "
    "Resume with",
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
    except _UsageError as exc:
        _error(str(exc))
        return 2
    # Library warnings (a purge, say) are for the user: one line, no source location.
    warnings.formatwarning = lambda message, category, *_a, **_k: f"warning: {message}\n"
    try:
        return args.run(args) or 0
    except HarnessError as exc:
        _error(str(exc))
        return 2
    except OSError as exc:  # a path the user gave that cannot be written or read
        where = f": {exc.filename}" if exc.filename else ""
        _error(f"{exc.strerror or exc}{where}")
        return 2
    except KeyboardInterrupt:
        show(errors, _interrupted(argv))
        return 130


def _error(message: str) -> None:
    line = f"error: {message}"
    text = Text("\n".join(fit(line, errors.width)) if errors.is_terminal else line)
    text.stylize("bold red", 0, len("error:"))
    errors.print(text, highlight=False, soft_wrap=True)


def _interrupted(argv: list[str]) -> str:
    """One line: what Ctrl-C left, and the command that resumes (its password redacted)."""
    from harness.storage.study import redact

    shown = [_redact_arg(a, redact) for a in argv]
    note = " (the storage password is shown as ***: put it back)" if shown != argv else ""
    left = INTERRUPTED.get(argv[0] if argv else "", "stopped. Run it again with")
    return f"interrupted: {left}: harness {shlex.join(shown)}{note}"


def _redact_arg(arg: str, redact: Callable[[str], str]) -> str:
    flag, sep, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
    hidden = redact(value) if "://" in value else value
    return f"{flag}{sep}{hidden}" if hidden != value and "***" in hidden else arg


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """Bad arguments are one line and exit code 2, as every other bad input (no usage block)."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _at_least(low: int) -> Callable[[str], int]:
    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {text}")
        return value

    return whole_number


def _port(text: str) -> int:
    value = int(text) if text.lstrip("+-").isdigit() else 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number, 1 to 65535, got {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text}")
    return value


POSITIVE, SEED = _at_least(1), _at_least(0)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="harness", description="Phase 2 search harness: tune, finalize, export.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("demo-data", help="write a synthetic Phase 1 dataset")
    p.add_argument("--out", type=Path, required=True, help="folder to write data/ and config/ into")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--days", type=POSITIVE, default=None, help="trading days per symbol")
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
    p.add_argument("--seed", type=SEED, default=0)
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
        type=POSITIVE,
        default=50,
        help="finished trials the study should hold (a rerun completes the rest)",
    )
    _data_arg(p)
    _storage_args(p)
    p.add_argument("--jobs", type=POSITIVE, default=1, help="worker processes on this machine")
    p.add_argument(
        "--timeout", type=_seconds, default=None, help="stop starting trials after S seconds"
    )
    p.add_argument("--seed", type=SEED, default=0, help="study seed (sampler, trial seeds)")
    _profile_arg(p)
    _caps_args(p)
    p.add_argument("--space", type=Path, default=None, help="default: search_spaces/{model}.yaml")
    p.add_argument("--objective", type=Path, default=None, help="default: objectives/{model}.yaml")
    _artifacts_arg(p)
    p.set_defaults(run=_search)

    p = sub.add_parser("finalize", help="retrain the best trials, export what Phase 3 reads")
    p.add_argument("--model", default="all", choices=(*MODEL_NAMES, "all"))
    _data_arg(p)
    _storage_args(p)
    p.add_argument("--out", type=Path, default=Path("results"), help="default: results/")
    p.add_argument(
        "--seeds",
        type=POSITIVE,
        default=1,
        help="train K seeds of the best config and average their probabilities",
    )
    _caps_args(p)
    _artifacts_arg(p)
    _blocks_arg(p, "--pbo-blocks")
    p.set_defaults(run=_finalize)

    p = sub.add_parser(
        "overfit",
        help="probability of backtest overfitting of a study's best trial, per horizon",
    )
    p.add_argument("--model", required=True, choices=MODEL_NAMES)
    _data_arg(p)
    _storage_args(p)
    _artifacts_arg(p)
    _blocks_arg(p, "--blocks")
    p.set_defaults(run=_overfit)

    p = sub.add_parser("verify-results", help="check a results folder as Phase 3 would")
    p.add_argument("--out", type=Path, default=Path("results"), help="default: results/")
    p.add_argument(
        "--model",
        default=None,
        choices=(*MODEL_NAMES, "all"),
        help="a model, or all (every one required); default: each model exported in --out",
    )
    _data_arg(p)
    p.set_defaults(run=_verify)

    p = sub.add_parser(
        "predict", help="class probabilities of finalized models on a split or on new bars"
    )
    p.add_argument(
        "--results",
        type=Path,
        default=Path("results"),
        help="what finalize wrote (default: results/)",
    )
    p.add_argument(
        "--model",
        default="all",
        choices=(*MODEL_NAMES, "all"),
        help="a model, or all (default): every model finalized in --results",
    )
    _data_arg(p)
    p.add_argument(
        "--split",
        default="val",
        choices=("val", "test", "train", "all"),
        help="a split of the Phase 1 data (default: val), or all: every row of a folder in its "
        "layout, labels and splits optional (new bars)",
    )
    p.add_argument("--out", type=Path, default=None, help="default: predict/ in the results folder")
    p.add_argument(
        "--horizons", type=int, nargs="+", default=None, help="default: every horizon of a model"
    )
    p.set_defaults(run=_predict)

    p = sub.add_parser("status", help="studies in a storage: trials by state, best, best params")
    p.add_argument("--storage", default=DEFAULT_STORAGE)
    p.set_defaults(run=_status)

    p = sub.add_parser("dashboard", help="optuna-dashboard on the storage, bound to localhost")
    p.add_argument("--storage", default=DEFAULT_STORAGE)
    p.add_argument("--port", type=_port, default=8080)
    p.add_argument(
        "--artifacts",
        type=Path,
        default=None,
        help="the trials' artifact folder (default as the search: $HARNESS_ARTIFACTS, else "
        "artifacts/ beside a SQLite storage)",
    )
    p.set_defaults(run=_dashboard)
    return parser


def _caps_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=POSITIVE, default=None, help="cap epochs (smoke runs)")
    p.add_argument(
        "--max-batches",
        type=POSITIVE,
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


def _artifacts_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--artifacts",
        type=Path,
        default=None,
        help="folder of the trials' stored val predictions (default: $HARNESS_ARTIFACTS, else "
        "artifacts/ beside a SQLite storage; give a folder every machine shares for PostgreSQL)",
    )


def _blocks_arg(p: argparse.ArgumentParser, flag: str) -> None:
    p.add_argument(
        flag,
        type=int,
        default=16,
        help="blocks the val rows are cut into for the probability of backtest overfitting "
        "(even; default 16: 12,870 splits)",
    )


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
    from harness.staging import Staging, recover

    if args.out.exists() and not args.out.is_dir():
        raise HarnessError(f"--out {args.out}: is a file; give a folder")
    # Written into a temp folder inside --out, then renamed into place: a run stopped half way
    # leaves no half-written parquet that would read as a (shorter) dataset.
    recover(args.out, say=_say)  # what a killed run left here
    staging = Staging(args.out, "demo")
    try:
        info = make_demo(staging.dir, seed=args.seed, days=args.days or DEFAULT_DAYS)
        staging.commit()
    finally:
        staging.discard()
    per_symbol = ", ".join(f"{symbol} {rows:,}" for symbol, rows in info.rows.items())
    _say(
        f"wrote a demo dataset to {args.out}: {info.n_rows:,} rows ({per_symbol}), "
        f"{info.n_features} features, {info.days} days a symbol, seed {info.seed}"
    )
    return 0


def _check_data(args: argparse.Namespace) -> int:
    data = _load(args)
    from harness.data.summary import summarize

    s = summarize(data)
    console.print(
        Text(str(s.root), style="bold"),
        f": {s.n_rows} rows, {s.n_features} features, horizons {', '.join(map(str, s.horizons))}",
        sep="",
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
    splits = ("train", "val", "test")
    scoring = Table(
        "symbol",
        "bars/year",
        "holes train/val/test",
        "rows skipped train/val/test",
        title="what backtests see per symbol",
    )
    for row in s.symbols:
        scoring.add_row(
            row.symbol,
            "-" if row.bars_per_year is None else f"{row.bars_per_year:,.0f}",
            "/".join(str(row.holes[k]) for k in splits),
            "/".join(str(row.skipped_rows[k]) for k in splits),
        )
    console.print(scoring)
    _say(
        "bars/year: from the symbol's train and val timestamps only; it annualizes the symbol's "
        "Sharpe ratios. holes: places where a split skips rows of the symbol (skipped: the rows "
        "skipped there); no backtest holds a position across one."
    )
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
    from harness.config import Caps

    return Caps(epochs=args.epochs, batches=args.max_batches)


def _train(args: argparse.Namespace) -> int:
    from harness.training import EpochLog, Recipe, epoch_table_header, epoch_table_row

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
    with _loading():
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
        artifacts=args.artifacts,
        profile=profile,
    )
    prepared = prepare_search(request, say=_say)
    _estimate(prepared, trials=args.trials - prepared.finished)
    display = SearchDisplay(console, study=prepared.study_name, target=args.trials)
    with display:  # Ctrl-C: main() says how to resume
        trials = run_search(prepared, on_trial=display.trial_done, on_tick=display.tick)
    display.summary(trials)
    return 0


def _finalize(args: argparse.Namespace) -> int:
    with _loading():
        from harness.data import load_dataset
        from harness.finalize import check_out, finalize
    from harness.config import choose_profile, recorded_choice
    from harness.devices import device_for_training
    from harness.storage import default_study_name, find_study, open_storage, recorded_profile
    from harness.training import Recipe

    models = MODEL_NAMES if args.model == "all" else (args.model,)
    if args.study and len(models) > 1:
        raise HarnessError("--study names one study: give it with one --model, not 'all'")
    notes: list[str] = []  # said after the profile line, which needs the data's studies
    data = load_dataset(args.data, say=notes.append)
    check_out(args.out, data)  # a bad --out is named before any storage is opened
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
        artifacts=args.artifacts,
        pbo_blocks=args.pbo_blocks,
    )
    return 0


def _overfit(args: argparse.Namespace) -> int:
    from harness.config import choose_profile
    from harness.devices import device_for_training
    from harness.storage import (
        artifacts_dir,
        default_study_name,
        find_study,
        load_study,
        open_storage,
        recorded_profile,
        study_overfitting,
    )
    from harness.training import Recipe

    data = _load(args)
    storage = open_storage(args.storage)
    device = choose_profile(None, device_for_training())
    default = default_study_name(args.model, data, device.name)
    name = args.study or find_study(storage, args.model, data, default=default)
    recipe = Recipe.load(args.model, data, profile=recorded_profile(storage, name) or device.name)
    study = load_study(storage, args.storage, name, args.model)
    folder = artifacts_dir(args.storage, args.artifacts)
    result = study_overfitting(
        study, data, directory=folder, cost_bps=recipe.score.cost_bps, n_blocks=args.blocks
    )
    _say(f"{name}: probability of backtest overfitting of its best trial (CSCV, per horizon)")
    for h, o in result.items():
        if o["pbo"] is None:
            _say(f"  {h}-bar: n/a: {o['reason']}")
            continue
        slope = "n/a" if o["slope"] is None else f"{o['slope']:.2f}"
        _say(
            f"  {h}-bar: PBO {o['pbo']:.3f} over {o['n_trials']} of {o['n_complete']} complete "
            f"trials, {o['rows']} val rows in {o['blocks']} blocks "
            f"({len(o['logits']):,} splits), slope {slope}"
        )
    return 0


def _verify(args: argparse.Namespace) -> int:
    from harness.finalize import verify_results

    models = None if args.model is None else MODEL_NAMES if args.model == "all" else (args.model,)
    problems = verify_results(args.out, _load(args), models=models)
    if problems:
        show(errors, "\n".join(problems))
        return 1
    _say(
        f"{args.out}: every file is present, matches its manifest, aligned with the validation "
        "split and reproducible."
    )
    return 0


def _predict(args: argparse.Namespace) -> int:
    from harness.predict import write_predictions

    report = write_predictions(
        results=args.results,
        data=args.data,
        split=args.split,
        models=None if args.model == "all" else [args.model],
        out=args.out,
        horizons=args.horizons,
        say=_say,
    )
    _say(report.summary())
    return 0


def _status(args: argparse.Namespace) -> int:
    from harness.search import storage_status
    from harness.storage import open_storage

    lines = storage_status(open_storage(args.storage))
    for line in lines or ["no studies in this storage"]:
        _say(line)
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    from wsgiref.simple_server import make_server

    from optuna.artifacts import FileSystemArtifactStore
    from optuna_dashboard import wsgi

    from harness import interrupts
    from harness.storage import artifacts_dir, open_storage

    storage = open_storage(args.storage)  # a clear error for a bad URL, before the server starts
    folder = artifacts_dir(args.storage, args.artifacts)
    # a reader makes no folder: without one, the trials' artifact links say they are missing
    store = FileSystemArtifactStore(folder) if folder is not None and folder.is_dir() else None
    where = f"; artifacts from {folder}" if store is not None else ""
    # In this process, not a child: Ctrl-C or SIGTERM stops the one process that listens.
    server = make_server("127.0.0.1", args.port, wsgi(storage, artifact_store=store))
    _say(f"optuna-dashboard on http://127.0.0.1:{args.port}{where} (Ctrl-C stops it)")
    # Ctrl-C is a request that the loop sees between requests: one raised while wsgiref answers
    # a request (the open page polls) is caught by wsgiref's handler, which logs a traceback and
    # serves on, as under optuna_dashboard.run_server. A third Ctrl-C raises at once.
    server.timeout = 0.5  # seconds handle_request waits for a request: a Ctrl-C's delay
    try:
        with contextlib.suppress(KeyboardInterrupt), interrupts.deferred():
            while not interrupts.requested():
                server.handle_request()
    finally:
        server.server_close()
    return 0


def _profile(
    args: argparse.Namespace,
    models: Sequence[str],
    *,
    space: Path | None = None,
    objective: Path | None = None,
) -> str:
    """The profile of `train` and `search`, checked against each model's files, and the first
    line they print: which profile, and why."""
    from harness.config import choose_profile, load_files
    from harness.devices import device_for_training

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
    with _working("estimating time and memory: timing training batches of the default config"):
        found = estimate(prepared.recipe, jobs=jobs, gpus=gpus, seed=prepared.request.seed)
    for line in found.lines(trials=trials, parallel=min(jobs, gpus) if gpus else 1):
        _say(line)


def _say(line: str) -> None:
    show(console, line)


def _loading() -> contextlib.AbstractContextManager[None]:
    # Seconds pass while torch, Lightning and Optuna load, before the first line (the profile)
    # can be said: a spinner on a terminal; in a pipe the profile stays the first line.
    return _working("loading PyTorch, Lightning and Optuna", piped=False)


@contextlib.contextmanager
def _working(what: str, *, piped: bool = True) -> Iterator[None]:
    """Says what a slow step does while it runs: a spinner on a terminal, else a line (unless
    not `piped`)."""
    if not console.is_terminal:
        if piped:
            _say(f"{what}...")
        yield
        return
    with console.status(Text(what), spinner="line"):
        yield
