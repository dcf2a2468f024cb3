"""What a search shows: running trials' epochs and scores, one line per finished trial, the
study's counts with an ETA, a closing summary. Everything is read from the storage, so every
worker's trials show, on this machine or others.

On a terminal the running trials live in a status block redrawn in place, every line fitted to
the width (``harness.screen.fit``); in a file or a pipe there are plain lines only: one per
epoch a trial scores, one per finished trial, then the study's counts.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from statistics import fmean
from types import TracebackType

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.live import Live
from rich.text import Text

from harness.screen import duration, fit, show
from harness.search.progress import epoch_scores, progress_line
from harness.storage.pareto import chosen, is_pareto, pareto_front, score_of
from harness.storage.study import FINISHED, MAXIMIZE, best_of, counts, n_finished

SHOWN_RUNNING = 8  # running trials listed in the status block; the others are counted


def _params(trial: FrozenTrial) -> str:
    parts = []
    for k, v in trial.params.items():
        parts.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
    return " ".join(parts)


def trial_line(t: FrozenTrial) -> str:
    epochs = t.user_attrs.get("epochs")
    seconds = t.user_attrs.get("seconds")
    tail = f"  {epochs} epochs" if epochs is not None else ""
    tail += f"  {seconds:.0f}s" if seconds is not None else ""
    if t.state == TrialState.COMPLETE:
        return f"trial {t.number:3d} complete  {_values(t)}{tail}  {_params(t)}"
    if t.state == TrialState.PRUNED:
        last = t.last_step
        return f"trial {t.number:3d} pruned at epoch {last}{tail}  {_params(t)}"
    reason = t.user_attrs.get("fail_reason") or t.system_attrs.get("fail_reason", "unknown")
    reason = str(reason).strip().splitlines()[0] if reason else "unknown"  # "Type: message"
    return f"trial {t.number:3d} failed: {reason}  {_params(t)}"


def _values(t: FrozenTrial) -> str:
    """'score 0.4623', or a Pareto search's 'values 0.4102 / 0.5210  score 0.4623'."""
    values = t.values or []
    shown = "" if len(values) == 1 else f"values {' / '.join(f'{v:.4f}' for v in values)}  "
    return f"{shown}score {score_of(t):.4f}"


def _elapsed(t: FrozenTrial, now: datetime) -> float:
    # Optuna stamps trials with its host's local time, naive, as `now` is.
    return 0.0 if t.datetime_start is None else max(0.0, (now - t.datetime_start).total_seconds())


def eta_seconds(trials: Sequence[FrozenTrial], target: int, now: datetime) -> float | None:
    """Seconds until the study holds `target` finished trials: the mean wall time of its
    finished trials for each one left, less what the running ones have done, shared among them
    (one per worker). None before any trial has finished."""
    spans = [
        (t.datetime_complete - t.datetime_start).total_seconds()
        for t in trials
        if t.state in FINISHED and t.datetime_start and t.datetime_complete
    ]
    if not spans:
        return None
    mean = fmean(spans)
    running = [t for t in trials if t.state == TrialState.RUNNING]
    left = max(0, target - n_finished(list(trials))) * mean
    left -= sum(min(_elapsed(t, now), mean) for t in running)
    return max(0.0, left) / max(1, len(running))


def study_line(
    trials: Sequence[FrozenTrial], target: int, now: datetime, *, eta: bool = True
) -> str:
    c = counts(list(trials))
    done = c[TrialState.COMPLETE] + c[TrialState.PRUNED]
    line = (
        f"trials {done}/{target} finished ({c[TrialState.COMPLETE]} complete, "
        f"{c[TrialState.PRUNED]} pruned), {c[TrialState.RUNNING]} running, "
        f"{c[TrialState.FAIL]} failed"
    )
    if done >= target or not eta:
        return line
    left = eta_seconds(trials, target, now)
    return line + ("; ETA after the first trial" if left is None else f"; ETA {duration(left)}")


def best_line(
    trials: Sequence[FrozenTrial], directions: Sequence[StudyDirection] = (MAXIMIZE,)
) -> str | None:
    """The best trial; in a Pareto search the front and its chosen member (``storage.pareto``)."""
    if not is_pareto(directions):
        best = best_of(trials)
        return (
            None
            if best is None
            else f"best {best.value:.4f} (trial {best.number}): {_params(best)}"
        )
    front = pareto_front(trials, directions)
    member = chosen(front)
    if member is None:
        return None
    return (
        f"Pareto front: trials {', '.join(str(t.number) for t in front)}; highest score: trial "
        f"{member.number}, {_values(member)}: {_params(member)}"
    )


def status_lines(
    trials: Sequence[FrozenTrial],
    target: int,
    now: datetime,
    directions: Sequence[StudyDirection] = (MAXIMIZE,),
) -> list[str]:
    """The status block: the study's counts and ETA, each running trial's progress, the best."""
    running = sorted((t for t in trials if t.state == TrialState.RUNNING), key=lambda t: t.number)
    lines = [study_line(trials, target, now)]
    lines += [f"  {progress_line(t, _elapsed(t, now))}" for t in running[:SHOWN_RUNNING]]
    if len(running) > SHOWN_RUNNING:
        lines.append(f"  and {len(running) - SHOWN_RUNNING} more running")
    best = best_line(trials, directions)
    return [*lines, best] if best else lines


class SearchDisplay:
    """A rich Live status block on a terminal, plain progress lines elsewhere; finished trials
    print above the block as the watcher reports them."""

    def __init__(
        self,
        console: Console,
        *,
        study: str,
        target: int,
        directions: Sequence[str] = ("maximize",),
    ) -> None:
        self.console = console
        self.study = study
        self.target = target
        self.directions = [StudyDirection[d.upper()] for d in directions]  # Optuna's words
        self._lock = threading.Lock()
        self._live = Live(
            Text("starting the first trial"),
            console=console,
            refresh_per_second=2,
            transient=True,
        )
        self._scored: dict[int, int] = {}  # plain output: trial -> epochs scored, as printed
        self._finished: int | None = None  # plain output: finished trials, as printed

    def __enter__(self) -> SearchDisplay:
        show(self.console, f"running trials until {self.target} finished in study {self.study}")
        self._live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._live.__exit__(kind, exc, tb)

    def trial_done(self, trial: FrozenTrial) -> None:
        with self._lock:
            show(self.console, trial_line(trial))

    def tick(self, trials: Sequence[FrozenTrial]) -> None:
        now = datetime.now()
        with self._lock:
            if self.console.is_terminal:
                lines = status_lines(trials, self.target, now, self.directions)
                fitted = [part for line in lines for part in fit(line, self.console.width)]
                self._live.update(Text("\n".join(fitted)))
                return
            # A file or a pipe: a line when a trial starts or scores an epoch, and the study's
            # counts when a trial finishes.
            for t in trials:
                scored = len(epoch_scores(t))
                if t.state == TrialState.RUNNING and self._scored.get(t.number) != scored:
                    self._scored[t.number] = scored
                    show(self.console, progress_line(t, _elapsed(t, now)))
            finished = n_finished(list(trials))
            # The last count is the summary's to print.
            if self._finished not in (None, finished) and finished < self.target:
                show(self.console, study_line(trials, self.target, now))
            self._finished = finished

    def summary(self, trials: Sequence[FrozenTrial], *, timeout: float | None = None) -> None:
        """Why the search stopped, the final counts and the best trial, each said once. (A
        stop request or repeated failures end it with an error line instead.)"""
        finished = n_finished(list(trials))
        why = (
            f"the study holds {finished} finished trials, the target of {self.target}"
            if finished >= self.target or timeout is None
            else f"--timeout {timeout:g} s reached with {finished} of {self.target} trials "
            "finished; the same command completes the rest"
        )
        lines = [f"stopped: {why}", study_line(trials, self.target, datetime.now(), eta=False)]
        best = best_line(trials, self.directions)
        for line in [*lines, best] if best else lines:
            show(self.console, line)


def storage_status(storage: optuna.storages.BaseStorage) -> list[str]:
    """`harness status`: per study, its name on a line of its own (whole, however long), then
    its model and profile, trials by state and best trial, as lines a terminal may wrap between
    words."""
    lines = []
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        c = counts(trials)
        lines += [
            summary.study_name,
            f"  model {summary.user_attrs.get('model', '?')}, profile "
            f"{summary.user_attrs.get('profile', '?')}: {c[TrialState.COMPLETE]} "
            f"complete, {c[TrialState.PRUNED]} pruned, {c[TrialState.FAIL]} failed, "
            f"{c[TrialState.RUNNING]} running",
            f"  {best_line(trials, study.directions) or 'best: none complete yet'}",
        ]
        best = best_of(trials, study.directions)
        ran = None if best is None else provenance_line(best)
        lines += [f"  {ran}"] if ran else []
    return lines


def provenance_line(trial: FrozenTrial) -> str | None:
    """Where and with what the trial ran (its ``worker`` attribute); None when it kept none."""
    worker = trial.user_attrs.get("worker")
    if not isinstance(worker, dict):
        return None
    commit = f" (commit {worker['commit']})" if "commit" in worker else ""
    return (
        f"ran on {worker.get('host', '?')}, {worker.get('device', '?')}: harness "
        f"{worker.get('harness', '?')}{commit}, torch {worker.get('torch', '?')}, lightning "
        f"{worker.get('lightning', '?')}, optuna {worker.get('optuna', '?')}"
    )
