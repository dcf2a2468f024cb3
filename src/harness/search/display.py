"""What a search shows: a live status line, one line per finished trial, a closing summary."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import TracebackType

import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from harness.search.study import best_of, counts


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
        return f"trial {t.number:3d} complete  score {t.value:.4f}{tail}  {_params(t)}"
    if t.state == TrialState.PRUNED:
        last = t.last_step
        return f"trial {t.number:3d} pruned at epoch {last}{tail}  {_params(t)}"
    reason = t.user_attrs.get("fail_reason") or t.system_attrs.get("fail_reason", "unknown")
    reason = str(reason).strip().splitlines()[0] if reason else "unknown"  # "Type: message"
    return f"trial {t.number:3d} failed: {reason}  {_params(t)}"


class SearchDisplay:
    """A rich Live status line; trials print above it as the watcher reports them."""

    def __init__(self, console: Console, *, study: str, target: int) -> None:
        self.console = console
        self.study = study
        self.target = target
        self._lock = threading.Lock()
        self._live = Live(
            Text(f"{study}: starting"), console=console, refresh_per_second=2, transient=True
        )

    def __enter__(self) -> SearchDisplay:
        self._live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._live.__exit__(kind, exc, tb)

    def trial_done(self, trial: FrozenTrial) -> None:
        with self._lock:
            self._live.console.print(trial_line(trial), highlight=False, soft_wrap=True)

    def tick(self, trials: Sequence[FrozenTrial]) -> None:
        with self._lock:
            self._live.update(Text(self.status(trials)))

    def status(self, trials: Sequence[FrozenTrial]) -> str:
        c = counts(list(trials))
        done = c[TrialState.COMPLETE] + c[TrialState.PRUNED]
        line = (
            f"{self.study}: trial {done}/{self.target}  running {c[TrialState.RUNNING]}  "
            f"complete {c[TrialState.COMPLETE]}  pruned {c[TrialState.PRUNED]}  "
            f"failed {c[TrialState.FAIL]}"
        )
        best = best_of(trials)
        if best is not None:
            line += f"\nbest {best.value:.4f} (trial {best.number}): {_params(best)}"
        return line

    def summary(self, trials: Sequence[FrozenTrial]) -> None:
        self.console.print(self.status(trials), highlight=False, soft_wrap=True)


def status_table(storage: optuna.storages.BaseStorage) -> Table:
    table = Table(
        "study",
        "model",
        "complete",
        "pruned",
        "failed",
        "running",
        "best",
        "best params",
        title="studies",
    )
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        c = counts(trials)
        best = best_of(trials)
        table.add_row(
            summary.study_name,
            str(summary.user_attrs.get("model", "?")),
            str(c[TrialState.COMPLETE]),
            str(c[TrialState.PRUNED]),
            str(c[TrialState.FAIL]),
            str(c[TrialState.RUNNING]),
            f"{best.value:.4f}" if best else "-",
            _params(best) if best else "-",
        )
    return table
