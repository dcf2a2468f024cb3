"""The Python API: what the command line does, callable from a notebook with one import.

    import harness
    from harness import api

    api.search("nhits", trials=8)                 # -> SearchResult: study name, best trial
    api.finalize()                                # -> FinalizeReport: the exported models
    api.predict(split="val")                      # -> PredictReport: the files written
    harness.load_predictor("results", "nhits")    # a finalized model as a function of bars

(``harness.search`` and its siblings name the packages, so the functions live here.) Each
takes the command's options as keyword arguments, with the command's defaults, and raises
``HarnessError`` (a clear message) where the command exits 2, ``WorkFailed`` where it exits 1.
`say` receives the lines the command prints (default: none). Every import is made inside the
functions, so ``import harness`` stays fast and loading a model loads no Optuna and no
Lightning.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from harness.constants import DEFAULT_BLOCKS, MODEL_NAMES, storage_url
from harness.errors import HarnessError

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from harness.config import Caps, ProfileChoice
    from harness.data import Phase1Data
    from harness.data.demo import DemoInfo
    from harness.finalize import FinalizeReport
    from harness.predict import PredictReport
    from harness.reference import ReferenceReport
    from harness.search import SearchPlan
    from harness.training import FitResult, Recipe

Say = Callable[[str], None]


def _quiet(_line: str) -> None:
    pass


@contextmanager
def _as_is(_what: str) -> Iterator[None]:
    yield


class Display(Protocol):
    """What watches a search: its trials as they finish, the study about once a second."""

    def __enter__(self) -> Display: ...
    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    def trial_done(self, trial: FrozenTrial) -> None: ...
    def tick(self, trials: list[FrozenTrial]) -> None: ...
    def summary(self, trials: Sequence[FrozenTrial], *, timeout: float | None) -> None: ...


@dataclass(frozen=True)
class SearchResult:
    study: str
    storage: str
    finished: int  # finished trials the study holds now
    best_trial: int | None  # None: no complete trial yet; a Pareto search: the chosen member
    best_score: float | None


@dataclass(frozen=True)
class StudyChoice:
    """One model's study and the recipe that retrains its trials: the space and objective the
    study recorded, at the profile it recorded."""

    model: str
    study: str
    recipe: Recipe


def use_threads(threads: int | None) -> int:
    """Set torch's threads in this process: `threads`, else every usable core; the number."""
    import torch

    from harness.constants import usable_cores

    if threads is not None and threads < 1:
        raise HarnessError(f"--threads must be >= 1, got {threads}")
    n = threads or usable_cores()
    torch.set_num_threads(n)
    return n


def caps(epochs: int | None = None, max_batches: int | None = None) -> Caps:
    from harness.config import Caps

    return Caps(epochs=epochs, max_batches=max_batches)


def models_of(model: str) -> tuple[str, ...]:
    """`all` -> every model; a name -> itself (the command line has checked it)."""
    return MODEL_NAMES if model == "all" else (model,)


def choose_profile(
    profile: str | None,
    models: Sequence[str],
    *,
    space: Path | None = None,
    objective: Path | None = None,
) -> ProfileChoice:
    """The profile of `train` and `search` (`profile`, else the training device's), checked to
    be known by each model's files; its `line` says which, and why."""
    from harness import config
    from harness.devices import device_for_training

    choice = config.choose_profile(profile, device_for_training())
    for model in models:
        config.load_files(model, space, objective, profile=choice.name)
    return choice


def train(
    model: str,
    *,
    data: Path | None = None,
    profile: str | None = None,
    epochs: int | None = None,
    max_batches: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    seed: int = 0,
    log: Path | None = None,
    say: Say = _quiet,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    progress: bool = False,
    threads: int | None = None,
    logger: str | None = None,
) -> FitResult:
    """Train `model`'s default config (its space's `fixed:` at the profile, then `overrides`);
    each epoch's entry goes to the log file (default results/train/{model}_training.log), to
    `on_epoch`, and with `logger` ("tensorboard" or "csv") to Lightning's logger as a new run
    ``logs/{model}/version_N/`` in the log file's folder."""
    from harness.data import load_dataset
    from harness.training import CURVES_DIR, Curves, EpochLog, Recipe

    log = log or Path("results/train") / f"{model}_training.log"
    curves = None if logger is None else Curves(logger, log.parent / CURVES_DIR, model)
    chosen = profile or choose_profile(None, [model]).name
    use_threads(threads)
    loaded = load_dataset(data, say=say)
    recipe = Recipe.load(model, loaded, profile=chosen, caps=caps(epochs, max_batches))
    run = recipe.default_run(overrides)
    prepared = recipe.prepared(run)
    curves_line = "" if curves is None else f"; curves: {curves.root / model}"
    say(
        f"training {model} on {len(prepared.train)} windows, validating on "
        f"{len(prepared.val)} ({prepared.device}); log: {log}{curves_line}"
    )
    with EpochLog(log, run) as write:

        def done(entry: dict[str, Any]) -> None:
            write(entry)
            if on_epoch is not None:
                on_epoch(entry)

        result = recipe.train(run, seed=seed, on_epoch=done, progress=progress, curves=curves)
    say(
        f"best epoch {result.best_epoch}: score {result.score:.4f} "
        f"({result.epochs} epochs, {result.seconds:.0f} s)"
    )
    return result


def search(
    model: str,
    *,
    trials: int = 50,
    data: Path | None = None,
    storage: str | None = None,
    study: str | None = None,
    jobs: int = 1,
    timeout: float | None = None,
    seed: int = 0,
    profile: str | None = None,
    epochs: int | None = None,
    max_batches: int | None = None,
    space: Path | None = None,
    objective: Path | None = None,
    artifacts: Path | None = None,
    say: Say = _quiet,
    working: Callable[[str], AbstractContextManager[None]] = _as_is,
    display: Callable[[str, int, Sequence[str]], Display] | None = None,
    threads: int | None = None,
    logger: str | None = None,
) -> SearchResult:
    """Run `model`'s study until it holds `trials` finished trials (a rerun resumes it).

    Before the first trial, `say` hears the time and memory estimate (measured while
    `working(...)` is entered); `display(study, target, directions)` watches the trials, if
    given. With `logger` ("tensorboard" or "csv") each trial logs its training curves in the
    artifact folder, as ``logs/{study}/trial_{number}/``."""
    storage = storage_url(storage)
    from harness.search import SearchRequest, plan_search, run_search
    from harness.storage import best_trial, n_finished
    from harness.storage.pareto import score_of

    chosen = profile or choose_profile(None, [model], space=space, objective=objective).name
    request = SearchRequest(
        model=model,
        trials=trials,
        space_file=space,
        objective_file=objective,
        data=data,
        storage=storage,
        study=study,
        jobs=jobs,
        timeout=timeout,
        seed=seed,
        caps=caps(epochs, max_batches),
        artifacts=artifacts,
        profile=chosen,
        threads=threads,
        logger=logger,
    )
    in_use = use_threads(threads if jobs == 1 else None)  # spawned workers set their own
    prepared = plan_search(request, say=say)
    _say_load(threads or in_use, say=say)
    _say_estimate(prepared, trials=trials - prepared.finished, say=say, working=working)
    if display is None:
        found = run_search(prepared)
    else:
        directions = prepared.recipe.objective.study_directions  # Optuna's words
        with display(prepared.study_name, trials, directions) as shown:
            found = run_search(prepared, on_trial=shown.trial_done, on_tick=shown.tick)
        shown.summary(found, timeout=timeout)
    best = best_trial(_load(storage, prepared.study_name, model))
    return SearchResult(
        study=prepared.study_name,
        storage=storage,
        finished=n_finished(found),
        best_trial=None if best is None else best.number,
        best_score=None if best is None else score_of(best),
    )


def _say_load(threads: int, *, say: Say) -> None:
    """Warn when the machine's load leaves fewer free cores than the threads asked for: torch
    processes sharing cores slow each other far more than their share (about 6x for two on 2
    cores), so two searches on one machine are better run one after the other."""
    import os

    from harness.constants import usable_cores

    cores = usable_cores()
    free = cores - os.getloadavg()[0]
    if free < min(threads, cores) - 0.5:
        say(
            f"warning: the machine's load leaves about {max(free, 0):.1f} of its {cores} cores "
            f"free for the {threads} threads asked for; processes sharing cores slow each "
            "other far more than their share: run one search at a time, or give each --threads"
        )


def _say_estimate(
    prepared: SearchPlan,
    *,
    trials: int,
    say: Say,
    working: Callable[[str], AbstractContextManager[None]],
) -> None:
    """Time and memory, said before a search's first trial; nothing when no trial is left."""
    if trials < 1:
        return
    import torch

    from harness.search import estimate

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    jobs = prepared.request.jobs
    with working("estimating time and memory: timing training batches of the default config"):
        found = estimate(prepared.recipe, jobs=jobs, gpus=gpus, seed=prepared.request.seed)
    for line in found.lines(trials=trials, parallel=min(jobs, gpus) if gpus else 1):
        say(line)


def resolve_studies(
    models: Sequence[str],
    data: Phase1Data,
    storage: str,
    *,
    study: str | None = None,
    epochs: int | None = None,
    max_batches: int | None = None,
    space: Path | None = None,
    objective: Path | None = None,
    say: Say = _quiet,
) -> list[StudyChoice]:
    """Each model's study (`study`, else the one of its default name on this dataset, at any
    profile) and the recipe its trials retrain with: the profile, space and objective the study
    recorded, whatever this machine's device or today's files; `say` hears the profile line.
    A model whose study does not exist keeps the device's profile and the project's files:
    finalize then says the study is missing."""
    from harness import config
    from harness.devices import device_for_training
    from harness.storage import (
        default_study_name,
        find_study,
        open_storage,
        recorded_profile,
        study_files,
    )
    from harness.training import Recipe

    if study and len(models) > 1:
        raise HarnessError("--study names one study: give it with one --model, not 'all'")
    device = config.choose_profile(None, device_for_training())
    backend = open_storage(storage)
    names = {
        m: study or find_study(backend, m, data, default=default_study_name(m, data, device.name))
        for m in models
    }
    recorded = {m: (names[m], recorded_profile(backend, names[m])) for m in models}
    say(config.recorded_choice(recorded, device).line)
    found = []
    for m in models:
        profile = recorded[m][1]
        files = (
            None
            if profile is None
            else study_files(
                backend, names[m], m, space_file=space, objective_file=objective, say=say
            )
        )
        recipe = Recipe.load(
            m,
            data,
            profile=profile or device.name,
            space_file=space,
            objective_file=objective,
            caps=caps(epochs, max_batches),
            files=files,
        )
        found.append(StudyChoice(model=m, study=names[m], recipe=recipe))
    return found


def finalize(
    model: str = "all",
    *,
    data: Path | None = None,
    storage: str | None = None,
    study: str | None = None,
    out: Path = Path("results"),
    members: int = 1,
    epochs: int | None = None,
    max_batches: int | None = None,
    artifacts: Path | None = None,
    pbo_blocks: int = DEFAULT_BLOCKS,
    space: Path | None = None,
    objective: Path | None = None,
    say: Say = _quiet,
    threads: int | None = None,
    logger: str | None = None,
    trial: int | None = None,
) -> FinalizeReport:
    """Retrain each model's best trial (`trial`: that trial of one model's study instead) as
    its study searched it, export the files Phase 3 reads into `out`, and write the comparison
    report. Raises FinalizeError, after exporting the rest, when a model fails. With `logger`
    ("tensorboard" or "csv") each member logs its training curves in the artifact folder, as
    ``logs/{study}/finalize_member_{k}/``."""
    storage = storage_url(storage)
    from harness.data import load_dataset
    from harness.finalize import check_out
    from harness.finalize import finalize as export_all
    from harness.training import check_logger

    if trial is not None and len(models_of(model)) > 1:
        raise HarnessError("--trial names a trial of one study: give it with one --model")
    if logger is not None:
        check_logger(logger)  # before the data and the studies are read
    use_threads(threads)
    notes: list[str] = []  # said after the profile line, which needs the data's studies
    loaded = load_dataset(data, say=notes.append)
    check_out(Path(out), loaded)  # a bad --out is named before any storage is opened
    said: list[str] = []
    choices = resolve_studies(
        models_of(model),
        loaded,
        storage,
        study=study,
        epochs=epochs,
        max_batches=max_batches,
        space=space,
        objective=objective,
        say=said.append,
    )
    for line in [*said[:1], *notes, *said[1:]]:
        say(line)
    return export_all(
        recipes=[c.recipe for c in choices],
        storage=storage,
        study_names={c.model: c.study for c in choices},
        out=Path(out),
        seeds=members,
        say=say,
        artifacts=artifacts,
        pbo_blocks=pbo_blocks,
        logger=logger,
        trials={} if trial is None else {c.model: trial for c in choices},
    )


def overfit(
    model: str,
    *,
    data: Path | None = None,
    storage: str | None = None,
    study: str | None = None,
    artifacts: Path | None = None,
    pbo_blocks: int = DEFAULT_BLOCKS,
    say: Say = _quiet,
) -> tuple[str, dict[str, dict[str, Any]]]:
    """The probability of backtest overfitting of a study's best trial, from its trials' stored
    val predictions: (study name, {str(h) or "score": result}, ``storage.overfitting``); `say`
    hears a line each."""
    storage = storage_url(storage)
    from harness.data import load_dataset
    from harness.storage import artifacts_dir, load_study, open_storage, study_overfitting
    from harness.storage.artifacts import overfit_lines

    loaded = load_dataset(data, say=say)
    (choice,) = resolve_studies([model], loaded, storage, study=study, say=say)
    searched = load_study(open_storage(storage), storage, choice.study, model)
    found = study_overfitting(
        searched,
        loaded,
        directory=artifacts_dir(storage, artifacts, study=searched),
        score=choice.recipe.score,
        n_blocks=pbo_blocks,
    )
    for line in overfit_lines(choice.study, found):
        say(line)
    return choice.study, found


def predict(
    results: Path = Path("results"),
    *,
    model: str = "all",
    data: Path | None = None,
    split: str = "val",
    out: Path | None = None,
    horizons: Sequence[int] | None = None,
    say: Say = _quiet,
    threads: int | None = None,
) -> PredictReport:
    """Class probabilities of the models finalized in `results` on a split of `data` (or on
    every row of new bars: `split="all"`), written as ``predict/{model}_{split}_probs_{h}.npy``
    and ``predict/{split}_index.parquet`` (or into `out`)."""
    from harness.predict import write_predictions

    use_threads(threads)
    return write_predictions(
        results=Path(results),
        data=data,
        split=split,
        models=None if model == "all" else [model],
        out=out,
        horizons=horizons,
        say=say,
    )


def _load(storage: str, name: str, model: str) -> Any:
    from harness.storage import load_study, open_storage

    return load_study(open_storage(storage), storage, name, model)


def demo_data(out: Path, *, seed: int = 0, days: int | None = None, say: Say = _quiet) -> DemoInfo:
    """Write a synthetic Phase 1 dataset into `out`, every file or none."""
    from harness.data.demo import DEFAULT_DAYS, make_demo
    from harness.staging import Staging, recover

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise HarnessError(f"--out {out}: is a file; give a folder")
    # Written into a temp folder inside `out`, then renamed into place: a run stopped half way
    # leaves no half-written parquet that would read as a (shorter) dataset.
    recover(out, say=say)  # what a killed run left here
    staging = Staging(out, "demo")
    try:
        info = make_demo(staging.dir, seed=seed, days=days or DEFAULT_DAYS)
        staging.commit()
    finally:
        staging.discard()
    per_symbol = ", ".join(f"{symbol} {rows:,}" for symbol, rows in info.rows.items())
    say(
        f"wrote a demo dataset to {out}: {info.n_rows:,} rows ({per_symbol}), "
        f"{info.n_features} features, {info.days} days a symbol, seed {info.seed}"
    )
    return info


def dashboard(
    storage: str | None = None,
    *,
    port: int = 8080,
    host: str = "127.0.0.1",
    artifacts: Path | None = None,
    say: Say = _quiet,
) -> None:
    """Serve optuna-dashboard on `storage` and its artifact folder at `host`:`port` (default
    loopback only: the dashboard has no authentication), in this process, until Ctrl-C or
    SIGTERM."""
    storage = storage_url(storage)
    from wsgiref.simple_server import make_server

    from optuna.artifacts import FileSystemArtifactStore
    from optuna_dashboard import wsgi

    from harness import interrupts
    from harness.storage import open_storage
    from harness.storage.artifacts import served_artifacts_dir

    backend = open_storage(storage)  # a clear error for a bad URL, before the server starts
    folder = served_artifacts_dir(backend, storage, artifacts)
    # a reader makes no folder: without one, the trials' artifact links say they are missing
    store = FileSystemArtifactStore(folder) if folder is not None and folder.is_dir() else None
    where = f"; artifacts from {folder}" if store is not None else ""
    # In this process, not a child: Ctrl-C or SIGTERM stops the one process that listens.
    server = make_server(host, port, wsgi(backend, artifact_store=store))
    if host not in ("127.0.0.1", "localhost", "::1"):
        say(
            f"warning: the dashboard has no authentication: anyone who reaches {host}:{port} "
            "sees the studies and can change their notes; an SSH tunnel keeps it private"
        )
    say(f"optuna-dashboard on http://{host}:{port}{where} (Ctrl-C stops it)")
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


def storage_proxy(
    storage: str | None = None, *, host: str = "127.0.0.1", port: int = 13000, say: Say = _quiet
) -> None:
    """Serve Optuna's gRPC storage proxy for the database `storage` at `host`:`port`, in this
    process, until Ctrl-C or SIGTERM; workers reach it as ``--storage grpc://HOST:PORT``."""
    from harness.storage.proxy import serve_proxy

    serve_proxy(storage_url(storage), host=host, port=port, say=say)


def reference(*, data: Path | None = None, lags: int = 4, say: Say = _quiet) -> ReferenceReport:
    """The bar to beat: a logistic regression and boosted trees per horizon on each row's
    features and its symbol's `lags` rows before it, each at the point of its small grid with
    the best val score (the study's score, ``ScoreConfig()``); `say` hears each grid point,
    then the table. The report holds the fitted models (``save_reference`` writes one)."""
    from harness.data import load_dataset
    from harness.reference import fit_references

    if lags < 0:
        raise HarnessError(f"--lags must be >= 0, got {lags}")
    found = fit_references(load_dataset(data, say=say), lags=lags, say=say)
    for line in found.lines():
        say(line)
    return found
