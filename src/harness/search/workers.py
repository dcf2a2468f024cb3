"""`harness search`: workers that run trials until the study holds N finished ones.

Each worker (the calling process for --jobs 1, else J spawned processes) loads the data once,
then loops: reap stale trials of dead workers, stop when finished + running trials reach N, run
one trial. Progress is read back from the storage, so the display shows every worker's trials,
on this machine or others.

Ctrl-C stops every worker after closing its trial: the trial in flight is recorded as failed
(reason "interrupted"), none is left RUNNING, and the same command resumes. Each worker's
sampler is seeded from the study seed and its first trial's number (``WorkerSampler``), so no
two workers and no two runs draw the same configurations.

On a machine with G GPUs, spawned worker k sees GPU k mod G alone (CUDA_VISIBLE_DEVICES, set
before its interpreter starts) and keeps its own copy of the data there; on a CPU the J workers
share the cores.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc  # type: ignore[import-untyped]
import optuna
import sqlalchemy
from optuna.trial import FrozenTrial, TrialState

from harness import interrupts
from harness.config import Caps, ObjectiveSpec, load_files
from harness.config.profile import default_profile
from harness.constants import DEFAULT_STORAGE, usable_cores
from harness.data import load_dataset
from harness.devices import device_for_training
from harness.errors import HarnessError, WorkFailed
from harness.search.objective import Objective
from harness.search.sampler import WorkerSampler
from harness.storage.artifacts import (
    ARTIFACTS_ENV,
    artifacts_dir,
    open_artifacts,
    record_artifacts,
    study_curves,
)
from harness.storage.attrs import describe_study
from harness.storage.files import record_files
from harness.storage.study import (
    HEARTBEAT_SECONDS,
    StorageError,
    check_study,
    check_worker,
    default_study_name,
    n_finished,
    open_storage,
    redact,
    write_error,
)
from harness.training import Curves, check_logger
from harness.training.recipe import Recipe

MAX_FAILS_IN_A_ROW = 5  # a worker gives up after this many consecutive failed trials


@dataclass(frozen=True)
class SearchRequest:
    model: str
    trials: int
    space_file: Path | None = None  # None: the project's search_spaces/{model}.yaml
    objective_file: Path | None = None  # None: the project's objectives/{model}.yaml
    data: Path | None = None
    storage: str = DEFAULT_STORAGE
    study: str | None = None
    jobs: int = 1
    timeout: float | None = None
    seed: int = 0
    caps: Caps = field(default_factory=Caps)
    # None: $HARNESS_ARTIFACTS, else the study's recorded folder, else artifacts/ beside SQLite
    artifacts: Path | None = None
    profile: str | None = None  # None: the training device's (harness.config.profile)
    threads: int | None = None  # torch threads in all; None: the usable cores
    logger: str | None = None  # training curves: "tensorboard" or "csv", under the artifacts


@dataclass(frozen=True)
class SearchPlan:
    request: SearchRequest
    study_name: str
    recipe: Recipe
    artifacts: Path | None = None  # where complete trials store their val predictions
    finished: int = 0  # finished trials the study held before this run
    curves: Curves | None = None  # each trial's: {artifacts}/logs/{study}/trial_{number}/


def plan_search(request: SearchRequest, *, say: Callable[[str], None] = print) -> SearchPlan:
    """Everything that can be wrong with a request is found here, before any worker starts."""
    if request.trials < 1:
        raise HarnessError(f"--trials must be >= 1, got {request.trials}")
    if request.jobs < 1:
        raise HarnessError(f"--jobs must be >= 1, got {request.jobs}")
    if request.logger is not None:
        check_logger(request.logger)
    profile = request.profile or default_profile(device_for_training())
    files = load_files(request.model, request.space_file, request.objective_file, profile=profile)
    if files.objective.pareto:  # first: a Pareto search runs without the pruner of the others
        say(pareto_line(files.objective))
    data = load_dataset(request.data, say=say)
    recipe = Recipe.load(request.model, data, profile=profile, caps=request.caps, files=files)
    recipe.check_windows()
    name = request.study or default_study_name(request.model, data, profile)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our display reports studies and trials
    storage = open_storage(request.storage, create=True)
    try:
        study = optuna.create_study(
            study_name=name,
            storage=storage,
            directions=recipe.objective.study_directions,
            load_if_exists=True,
        )
        check_study(study, expected_attrs(recipe))
        check_worker(study, recipe.worker())
        describe_study(
            study,
            score=recipe.score,
            budget=recipe.budget,
            data=recipe.data,
            names=recipe.objective.metric_names,
        )
        if recipe.files is not None:  # finalize retrains with what this search ran with
            record_files(storage, name, recipe.files)
    except optuna.exceptions.StorageInternalError as exc:  # a read-only SQLite file, say
        raise write_error(exc, request.storage) from None
    artifacts = artifacts_dir(request.storage, request.artifacts, study=study)
    if artifacts is None:
        say(
            "note: trials will not store their val predictions, so finalize cannot give the "
            "probability of backtest overfitting: pass --artifacts DIR (a folder every worker "
            f"shares) or set ${ARTIFACTS_ENV}."
        )
    else:
        open_artifacts(artifacts)  # a folder that cannot be made is an error now, not per trial
        # finalize, overfit and the dashboard read the recorded folder
        if (recorded := record_artifacts(study, artifacts)) is not None:
            say(
                f"note: study {name!r} recorded the artifact folder {recorded}; this run stores "
                f"into {artifacts}, so finalize compares its trials (PBO) only with "
                f"--artifacts {artifacts}, and the earlier ones only without it."
            )
    finished = n_finished(study.get_trials(deepcopy=False))
    return SearchPlan(
        request=request,
        study_name=name,
        recipe=recipe,
        artifacts=artifacts,
        finished=finished,
        curves=study_curves(request.logger, artifacts, name),
    )


def pareto_line(spec: ObjectiveSpec) -> str:
    """What a Pareto search says first: its objectives, its sampler, and that nothing prunes."""
    goals = ", ".join(f"{d.name} ({d.direction})" for d in spec.directions or ())
    return (
        f"Pareto search of {goals}, sampler {spec.sampler.type}; no pruning: Optuna's pruners "
        "follow one objective. Each trial keeps its epoch of the best score; finalize exports "
        "the member of the front with the highest score (--trial N picks another)"
    )


def expected_attrs(recipe: Recipe) -> dict[str, str]:
    return {
        "model": recipe.model,
        "profile": recipe.profile,
        "data_fingerprint": recipe.data.fingerprint,
        "objective": recipe.digest(),
    }


@dataclass(frozen=True)
class Placement:
    """Where a spawned worker trains: its device, and the environment that puts it there."""

    device: str  # as the worker's torch names it: "cuda:0" (its one visible GPU) or "cpu"
    env: dict[str, str]  # set before the worker's interpreter starts
    label: str  # for messages: "GPU 3" or "CPU"


def visible_gpus(count: int, env: Mapping[str, str]) -> list[str]:
    """The ids of the `count` GPUs this process sees, as CUDA_VISIBLE_DEVICES names them (its
    own list when set, so a worker gets one of those, else 0..count-1)."""
    listed = env.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        return [str(k) for k in range(count)]
    return [g.strip() for g in listed.split(",") if g.strip()][:count]


def placement(worker: int, gpus: Sequence[str]) -> Placement:
    """Worker k on GPU k mod G (alone on it: CUDA_VISIBLE_DEVICES), or on the CPU when G = 0."""
    if not gpus:
        return Placement(device="cpu", env={}, label="CPU")
    gpu = gpus[worker % len(gpus)]
    return Placement(device="cuda:0", env={"CUDA_VISIBLE_DEVICES": gpu}, label=f"GPU {gpu}")


def run_search(
    prepared: SearchPlan,
    *,
    on_trial: Callable[[FrozenTrial], None] | None = None,
    on_tick: Callable[[list[FrozenTrial]], None] | None = None,
) -> list[FrozenTrial]:
    """Run the workers to the end; `on_trial` hears of each trial that finishes, `on_tick` gets
    the study's trials about once a second. Returns the study's trials."""
    request = prepared.request
    watcher = _Watcher(prepared, on_trial=on_trial, on_tick=on_tick)
    watcher.start()
    try:
        if request.jobs == 1:
            _work(prepared, worker=0, threads=None)
        else:
            _spawn_workers(prepared)
    finally:
        watcher.stop()
    return watcher.trials()


def _spawn_workers(prepared: SearchPlan) -> None:
    jobs = prepared.request.jobs
    ctx = mp.get_context("spawn")
    stop = StopFlag(ctx)  # Ctrl-C or SIGTERM here: each worker closes its trial and exits
    threads = max(1, (prepared.request.threads or usable_cores()) // jobs)
    gpus = _gpus()
    prepared.recipe.release()  # each worker holds its own copy of the data
    procs = [
        ctx.Process(target=_work, args=(prepared, k, threads, stop), daemon=True)
        for k in range(jobs)
    ]
    # A worker starts deaf to Ctrl-C and SIGTERM (a KeyboardInterrupt while it imports torch
    # would be a traceback); from its first trial on, it takes them or the stop flag alike.
    with _stops_ignored():
        for k, p in enumerate(procs):
            with _environment(placement(k, gpus).env):  # the child starts with it
                p.start()
    with interrupts.deferred():
        try:
            while alive := [p for p in procs if p.is_alive()]:
                alive[0].join(timeout=0.25)
                interrupts.check()
        except KeyboardInterrupt as exc:
            # for the workers a terminal's Ctrl-C, or a SIGTERM to this process, did not reach
            stop.set(terminated=isinstance(exc, interrupts.Terminated))
            for p in procs:
                p.join(timeout=60)
            raise
    failed = [f"worker {k} (exit code {p.exitcode})" for k, p in enumerate(procs) if p.exitcode]
    if failed:
        raise WorkFailed(f"{', '.join(failed)} stopped early; see the messages above")


class StopFlag:
    """The parent's Ctrl-C for its spawned workers: a flag in shared memory that the parent sets
    and each worker polls. Not multiprocessing's Event: its ``set()`` waits, with no timeout, for
    every thread that ever waited on it to wake, so it hangs for good once a worker has exited
    while one of its threads waited."""

    POLL_SECONDS = 0.25

    def __init__(self, ctx: mp.context.SpawnContext) -> None:
        # 0: go on, 1: Ctrl-C, 2: SIGTERM; no lock a dead worker could hold
        self._flag = ctx.RawValue(ctypes.c_int, 0)

    def set(self, *, terminated: bool = False) -> None:
        self._flag.value = 2 if terminated else 1

    def is_set(self) -> bool:
        return bool(self._flag.value)

    def relay(self) -> None:
        """In a worker: from now on, the flag set is a Ctrl-C request of this process."""
        threading.Thread(target=self._relay, daemon=True).start()

    def _relay(self) -> None:
        while not self.is_set():
            time.sleep(self.POLL_SECONDS)
        interrupts.request(terminated=self._flag.value == 2)


def _gpus() -> list[str]:
    import torch

    return visible_gpus(torch.cuda.device_count(), os.environ)


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in os.environ for the block (a spawned child copies the environment at start)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _work(
    prepared: SearchPlan, worker: int, threads: int | None, stop: StopFlag | None = None
) -> None:
    """One worker: trials until the study is done, the time is up, or trials keep failing."""
    import torch

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the watcher reports every trial
    if threads is None:
        _run_trials(prepared, worker)
        return
    # A spawned worker: one Ctrl-C ends the run quietly; errors become a message and exit code 2.
    torch.set_num_threads(threads)
    if stop is not None:
        stop.relay()
    try:
        _run_trials(prepared, worker)
    except KeyboardInterrupt:
        return
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _run_trials(prepared: SearchPlan, worker: int) -> None:
    try:
        _trials_until_done(prepared, worker)
    except (optuna.exceptions.StorageInternalError, sqlalchemy.exc.SQLAlchemyError) as exc:
        # A full disk or a read-only file: one line naming the storage; a trial left RUNNING
        # is failed by the next run (its heartbeat stops).
        raise write_error(exc, prepared.request.storage) from None
    except grpc.RpcError as exc:  # a grpc:// storage whose proxy stopped answering mid-search
        code = getattr(exc, "code", lambda: None)()
        raise StorageError(
            f"storage {redact(prepared.request.storage)}: the storage proxy stopped answering "
            f"({getattr(code, 'name', 'no reply')}); start it again, then run the same command "
            "to resume"
        ) from None


def _trials_until_done(prepared: SearchPlan, worker: int) -> None:
    request = prepared.request
    recipe = prepared.recipe
    objective = Objective(
        recipe, seed=request.seed, artifacts=prepared.artifacts, curves=prepared.curves
    )
    storage = open_storage(request.storage)
    study = optuna.load_study(
        study_name=prepared.study_name,
        storage=storage,
        sampler=WorkerSampler(recipe.objective.make_sampler, study_seed=request.seed),
        pruner=recipe.objective.make_pruner(recipe.budget),
    )
    deadline = math.inf if request.timeout is None else time.monotonic() + request.timeout
    fails = 0
    # Ctrl-C is taken between batches, before and after a trial and while waiting: never while
    # Optuna creates or records a trial, so no trial is left RUNNING.
    with interrupts.deferred():
        while time.monotonic() < deadline:
            interrupts.check()
            optuna.storages.fail_stale_trials(study)
            trials = study.get_trials(deepcopy=False)
            finished = n_finished(trials)
            if finished >= request.trials:
                return
            if finished + sum(t.state == TrialState.RUNNING for t in trials) >= request.trials:
                # Other workers run the last trials. Wait: one may fail (and need a successor),
                # or be a dead worker's, which the heartbeat check fails and retries after its
                # grace.
                _wait(HEARTBEAT_SECONDS)
                continue
            # Failures of any kind end the trial, not the search (the objective stores why).
            number = _one_trial(study, objective)
            interrupts.check()
            last = next(t for t in study.get_trials(deepcopy=False) if t.number == number)
            fails = fails + 1 if last.state == TrialState.FAIL else 0
            if fails >= MAX_FAILS_IN_A_ROW:
                reason = last.user_attrs.get("fail_reason") or "no reason recorded"
                raise WorkFailed(
                    f"worker {worker}: {fails} trials in a row failed; the last one "
                    f"(trial {last.number}) with: {' '.join(str(reason).split())}"
                )


def _one_trial(
    study: optuna.Study, objective: Callable[[optuna.Trial], float | Sequence[float]]
) -> int:
    """Run one trial of `study`; returns its number. A Ctrl-C from the moment Optuna created
    it fails it: the objective records why, Optuna marks it failed and raises again."""
    numbers: list[int] = []

    def checked(trial: optuna.Trial) -> float | Sequence[float]:
        numbers.append(trial.number)
        if interrupts.requested():  # pressed while Optuna created the trial
            trial.set_user_attr("fail_reason", f"interrupted ({interrupts.reason()})")
            interrupts.check()
        return objective(trial)

    study.optimize(checked, n_trials=1, catch=(Exception,), gc_after_trial=False)
    return numbers[0]


def _wait(seconds: float) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, 0.25))
        interrupts.check()


@contextlib.contextmanager
def _stops_ignored() -> Iterator[None]:
    """SIGINT and SIGTERM ignored in the block (a child started in it inherits that)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class _Watcher:
    """Polls the storage about once a second and reports trials as they finish."""

    def __init__(
        self,
        prepared: SearchPlan,
        *,
        on_trial: Callable[[FrozenTrial], None] | None,
        on_tick: Callable[[list[FrozenTrial]], None] | None,
    ) -> None:
        self.storage = open_storage(prepared.request.storage)
        self.name = prepared.study_name
        self.on_trial = on_trial
        self.on_tick = on_tick
        self._seen: set[int] = {t.number for t in self.trials() if t.state.is_finished()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def trials(self) -> list[FrozenTrial]:
        return self.storage.get_all_trials(self.storage.get_study_id_from_name(self.name))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()  # the last trials that finished

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            self._poll()

    def _poll(self) -> None:
        trials = self.trials()
        for t in trials:
            if t.state.is_finished() and t.number not in self._seen:
                self._seen.add(t.number)
                if self.on_trial:
                    self.on_trial(t)
        if self.on_tick:
            self.on_tick(trials)
