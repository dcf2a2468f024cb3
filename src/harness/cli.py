"""Command line: parse, call ``harness.api``, print. Nothing imports this module."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console
from rich.text import Text

from harness import api, constants, interrupts
from harness.constants import DEFAULT_BLOCKS, DEFAULT_STORAGE, LOGGERS, MODEL_NAMES, STORAGE_ENV
from harness.errors import HarnessError, WorkFailed, write_traceback
from harness.screen import fit, show

# Markup off: study names, paths and params are printed as they are ("x[/]y" is a name).
console = Console(markup=False)
errors = Console(stderr=True, markup=False)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
    except _UsageError as exc:
        _error(str(exc))
        return 2
    # Library warnings (a purge, say) are for the user: one line, no source location.
    warnings.formatwarning = lambda message, category, *_a, **_k: f"warning: {message}\n"
    if threading.current_thread() is threading.main_thread():  # SIGTERM stops as Ctrl-C does
        signal.signal(signal.SIGTERM, interrupts.on_sigterm)
    try:
        return args.run(args) or 0
    except HarnessError as exc:  # the work that failed (1), or bad input (2)
        _error(str(exc))
        return 1 if isinstance(exc, WorkFailed) else 2
    except OSError as exc:  # a path the user gave that cannot be written or read
        where = f": {exc.filename}" if exc.filename else ""
        _error(f"{exc.strerror or exc}{where}")
        return 2
    except KeyboardInterrupt as stop:
        terminated = isinstance(stop, interrupts.Terminated)
        from harness.storage.study import redact

        by = "SIGTERM" if terminated else "Ctrl-C"
        show(errors, interrupts.resume_line(argv, by, redact=redact))
        return 143 if terminated else 130
    except Exception as exc:  # a bug: one line, the traceback in a file for the report
        _error(f"unexpected {type(exc).__name__}: {exc} (traceback in {write_traceback()})")
        return 1


def _error(message: str) -> None:
    line = f"error: {message}"
    text = Text("\n".join(fit(line, errors.width)) if errors.is_terminal else line)
    text.stylize("bold red", 0, len("error:"))
    errors.print(text, highlight=False, soft_wrap=True)


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
MODELS, ALL = MODEL_NAMES, (*MODEL_NAMES, "all")
PBO = "blocks the val rows are cut into for the probability of backtest overfitting (even)"
Option = tuple[str, dict[str, Any]]


def _o(flag: str, help: str, **kwargs: Any) -> Option:
    return flag, {"help": help, **kwargs}


def _renamed(old: str, new: str, **kwargs: Any) -> Option:
    """An old spelling of `new`: it works for one more version and says so in one line."""

    class Renamed(argparse.Action):
        def __call__(self, parser: Any, space: Any, value: Any, flag: Any = None) -> None:
            show(errors, f"note: {old} is deprecated and goes in the next version: use {new}")
            setattr(space, self.dest, value)

    dest = new.removeprefix("--").replace("-", "_")
    return old, {"help": f"deprecated: {new}", "dest": dest, "action": Renamed,
                 "default": argparse.SUPPRESS, **kwargs}  # fmt: skip


# Options of several commands, each spelled and explained once.
SHARED: dict[str, Option] = {
    "data": _o(
        "--data", "Phase 1 folder (data/final, config/splits); default: ., else the demo", type=Path
    ),
    "storage": _o(
        "--storage", f"Optuna storage URL (default: ${STORAGE_ENV}, else {DEFAULT_STORAGE})"
    ),
    "study": _o("--study", "study name (default: {model}-{profile}-{dataset})"),
    "epochs": _o("--epochs", "cap epochs (smoke runs)", type=POSITIVE),
    "threads": _o(
        "--threads", "torch threads (default: the usable cores; split over --jobs)", type=POSITIVE
    ),
    "max-batches": _o("--max-batches", "cap batches per epoch and per evaluation", type=POSITIVE),
    "profile": _o(
        "--profile", "sizes to train at: seed, cpu or a YAML profile (default: the device's)"
    ),
    "artifacts": _o(
        "--artifacts",
        "trials' artifact folder (default: $HARNESS_ARTIFACTS, else the study's, else beside "
        "SQLite)",
        type=Path,
    ),
    "host": _o(
        "--host",
        "the address to listen on (others than loopback: no authentication)",
        default="127.0.0.1",
    ),
    "logger": _o(
        "--logger",
        "log training curves per epoch, in logs/ of the artifact folder (train: of --log's folder)"
        "; tensorboard needs pip install 'harness[tensorboard]'",
        choices=LOGGERS,
    ),
}
Handler = Callable[[argparse.Namespace], int]


def _commands() -> dict[str, tuple[Handler, str, list[str | Option]]]:
    return {
        "demo-data": (_demo_data, "write a synthetic Phase 1 dataset", [
            _o("--out", "folder to write data/ and config/ into", type=Path, required=True),
            _o("--seed", "the simulation's seed", type=SEED, default=0),
            _o("--days", "trading days per symbol (default: the demo's)", type=POSITIVE),
        ]),
        "check-data": (_check_data, "validate a Phase 1 dataset and summarize it", ["data"]),
        "train": (_train, "train one model with its default config", [
            _o("--model", "the model", choices=MODELS, required=True),
            "data", "epochs", "max-batches", "profile", "threads",
            _o("--set", "override a config value, e.g. learning_rate=3e-4 (repeatable)",
               action="append", default=[], metavar="KEY=VALUE"),
            _o("--seed", "training seed", type=SEED, default=0),
            _o("--log", "epoch log (default: results/train/{model}_training.log)", type=Path),
            "logger",
        ]),
        "search": (_search, "tune a model with Optuna; resumable, parallel", [
            _o("--model", "a model, or all, one after the other", choices=ALL, required=True),
            _o("--trials", "finished trials the study should hold (a rerun completes the rest)",
               type=POSITIVE, default=50),
            "data", "storage", "study",
            _o("--jobs", "worker processes on this machine", type=POSITIVE, default=1),
            _o("--timeout", "stop starting trials after S seconds", type=_seconds),
            _o("--seed", "study seed (sampler, trial seeds)", type=SEED, default=0),
            "profile", "epochs", "max-batches", "threads",
            _o("--space", "search space file (default: search_spaces/{model}.yaml)", type=Path),
            _o("--objective", "objective file, or a shipped one's name: pareto (default: "
               "objectives/{model}.yaml)", type=Path),
            "artifacts", "logger",
        ]),
        "finalize": (_finalize, "retrain the best trials, export what Phase 3 reads", [
            _o("--model", "a model, or all of them", choices=ALL, default="all"),
            "data", "storage", "study",
            _o("--out", "the results folder to write", type=Path, default=Path("results")),
            _o("--members", "train K seeds of the best config, average their probabilities",
               type=POSITIVE, default=1),
            _renamed("--seeds", "--members", type=POSITIVE),
            "epochs", "max-batches", "artifacts", "threads", "logger",
            _o("--pbo-blocks", PBO, type=int, default=DEFAULT_BLOCKS),
            _o("--space", "must be the space the study recorded (default: that one)", type=Path),
            _o("--objective", "must be the objective the study recorded (default: it)", type=Path),
            _o("--trial", "export this trial of the study (one --model), not its best",
               type=SEED),
        ]),
        "overfit": (_overfit, "probability of backtest overfitting of a study's best trial", [
            _o("--model", "the model", choices=MODELS, required=True),
            "data", "storage", "study", "artifacts",
            _o("--pbo-blocks", PBO, type=int, default=DEFAULT_BLOCKS),
            _renamed("--blocks", "--pbo-blocks", type=int),
        ]),
        "reference": (_reference, "the bar to beat: logistic regression and boosted trees", [
            "data", _o("--lags", "previous rows of its symbol a row sees", type=SEED, default=4)]),
        "verify-results": (_verify, "check a results folder as Phase 3 would", [
            _o("--results", "the folder finalize wrote", type=Path, default=Path("results")),
            _renamed("--out", "--results", type=Path),
            _o("--model", "a model, or all (each required); default: those there", choices=ALL),
            "data",
        ]),
        "predict": (_predict, "class probabilities of finalized models on a split or new bars", [
            _o("--results", "the folder finalize wrote", type=Path, default=Path("results")),
            _o("--model", "a model, or all of them", choices=ALL, default="all"),
            "data", "threads",
            _o("--split", "a split, or all: every row of a folder (new bars)", default="val",
               choices=("val", "test", "train", "all")),
            _o("--out", "folder to write (default: predict/ in the results folder)", type=Path),
            _o("--horizons", "horizons to predict (default: every one of a model)", type=int,
               nargs="+"),
        ]),
        "status": (_status, "studies in a storage: trials by state, best, params", ["storage"]),
        "dashboard": (_dashboard, "optuna-dashboard on the storage, bound to localhost", [
            "storage", _o("--port", "the port to serve on", type=_port, default=8080), "artifacts",
            "host",
        ]),
        "storage-proxy": (_storage_proxy, "Optuna's gRPC storage proxy: workers use grpc://", [
            "storage", _o("--port", "the port to serve on", type=_port, default=13000),
            "host",
        ]),
    }  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="harness", description="Phase 2 search harness: tune, finalize, export.")
    parser.add_argument("--version", action="version", version=f"harness {constants.__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    for name, (run, help, options) in _commands().items():
        formatter = argparse.ArgumentDefaultsHelpFormatter  # --help shows every default
        p = sub.add_parser(name, help=help, description=help, formatter_class=formatter)
        p.set_defaults(run=run)
        for option in options:
            flag, kwargs = SHARED[option] if isinstance(option, str) else option
            p.add_argument(flag, **kwargs)
    return parser


def _pass(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The options `names` as keyword arguments of the API (whose names are the flags')."""
    return {n: getattr(args, n) for n in names}


def _demo_data(args: argparse.Namespace) -> int:
    api.demo_data(**_pass(args, "out", "seed", "days"), say=_say)
    return 0


def _check_data(args: argparse.Namespace) -> int:
    from harness.data import load_dataset
    from harness.data.summary import summarize
    from harness.screen import print_summary

    print_summary(console, summarize(load_dataset(args.data, say=_say)))
    return 0


def _train(args: argparse.Namespace) -> int:
    from harness.config import parse_overrides
    from harness.training import epoch_table_header, epoch_table_row

    profile = api.choose_profile(args.profile, [args.model])
    _say(profile.line)

    def row(entry: dict[str, Any]) -> None:
        horizons = tuple(entry.get("val", {}))
        if entry["epoch"] == 0:
            console.print(epoch_table_header(horizons), highlight=False, soft_wrap=True)
        console.print(epoch_table_row(entry, horizons), highlight=False, soft_wrap=True)

    api.train(
        **_pass(args, "model", "data", "epochs", "max_batches", "seed", "log", "threads"),
        logger=args.logger,
        profile=profile.name,
        overrides=parse_overrides(args.set),
        say=_say,
        on_epoch=row,
        progress=console.is_terminal,
    )
    return 0


def _search(args: argparse.Namespace) -> int:
    from harness.search import SearchDisplay

    models = api.models_of(args.model)
    if args.study and len(models) > 1:
        raise HarnessError("--study names one study: give it with one --model, not 'all'")
    with _loading():
        profile = api.choose_profile(
            args.profile, models, space=args.space, objective=args.objective
        )
    _say(profile.line)
    for model in models:
        api.search(
            model,
            **_pass(args, "trials", "data", "storage", "study", "jobs", "timeout", "seed"),
            **_pass(args, "epochs", "max_batches", "space", "objective", "artifacts", "threads"),
            logger=args.logger,
            profile=profile.name,
            say=_say,
            working=_working,
            display=lambda study, target, directions: SearchDisplay(
                console, study=study, target=target, directions=directions
            ),
        )
    return 0


def _finalize(args: argparse.Namespace) -> int:
    with _loading():
        import harness.finalize  # noqa: F401  (the spinner covers loading torch and Optuna)
    api.finalize(  # raises, after exporting the rest, when a model fails; names the report last
        **_pass(args, "model", "data", "storage", "study", "out", "members", "epochs"),
        **_pass(args, "max_batches", "artifacts", "pbo_blocks", "space", "objective", "threads"),
        **_pass(args, "logger", "trial"),
        say=_say,
    )
    return 0


def _overfit(args: argparse.Namespace) -> int:
    api.overfit(
        **_pass(args, "model", "data", "storage", "study", "artifacts", "pbo_blocks"), say=_say
    )
    return 0


def _reference(args: argparse.Namespace) -> int:
    api.reference(**_pass(args, "data", "lags"), say=_say)  # says its table last
    return 0


def _verify(args: argparse.Namespace) -> int:
    from harness.data import load_dataset
    from harness.finalize import verify_results

    models = None if args.model is None else api.models_of(args.model)
    problems = verify_results(args.results, load_dataset(args.data, say=_say), models=models)
    if problems:
        show(errors, "\n".join(problems))
        return 1
    _say(
        f"{args.results}: every file is present, matches its manifest, aligned with the "
        "validation split and reproducible."
    )
    return 0


def _predict(args: argparse.Namespace) -> int:
    report = api.predict(
        **_pass(args, "results", "model", "data", "split", "out", "horizons", "threads"), say=_say
    )
    _say(report.summary())
    return 0


def _status(args: argparse.Namespace) -> int:
    from harness.search import storage_status
    from harness.storage import open_storage

    lines = storage_status(open_storage(constants.storage_url(args.storage)))
    for line in lines or ["no studies in this storage"]:
        _say(line)
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    api.dashboard(**_pass(args, "storage", "port", "host", "artifacts"), say=_say)
    return 0


def _storage_proxy(args: argparse.Namespace) -> int:
    api.storage_proxy(**_pass(args, "storage", "host", "port"), say=_say)
    return 0


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
