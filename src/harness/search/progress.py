"""A running trial's progress, kept in the storage so every worker's display can read it.

Its scored epochs and their scores are already there: the pruning callback reports each epoch's
score as an intermediate value (step = epoch). What the storage lacks is how many epochs the
trial may run; ``EpochsPlanned`` writes that when training starts. A trial of a Pareto search
reports nothing (Optuna's intermediate values are single-objective): ``ScoresKept`` keeps its
epochs' scores as a user attribute instead.
"""

from __future__ import annotations

import lightning.pytorch as pl
import optuna
from lightning.pytorch.callbacks import Callback
from optuna.trial import FrozenTrial

from harness.metrics import SCORE
from harness.screen import duration

MAX_EPOCHS = "max_epochs"  # trial user attribute: the epochs its budget allows
EPOCH_SCORES = "epoch_scores"  # trial user attribute of a Pareto search: its epochs' scores


class EpochsPlanned(Callback):
    """Stores the trial's epoch budget (after caps) as the user attribute ``max_epochs``."""

    def __init__(self, trial: optuna.Trial) -> None:
        self.trial = trial

    def on_train_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.trial.set_user_attr(MAX_EPOCHS, trainer.max_epochs)


class ScoresKept(Callback):
    """Stores the score of each epoch validated so far as the user attribute ``epoch_scores``
    (Lightning's logged copy, as the pruning callback reports it)."""

    def __init__(self, trial: optuna.Trial) -> None:
        self.trial = trial
        self.scores: list[float] = []

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        score = trainer.callback_metrics.get(SCORE)
        if trainer.sanity_checking or score is None:
            return
        self.scores.append(float(score))
        self.trial.set_user_attr(EPOCH_SCORES, self.scores)


def epoch_scores(trial: FrozenTrial) -> dict[int, float]:
    """The scores of the epochs the trial has validated: its intermediate values, or in a Pareto
    search (where Optuna takes none) its ``epoch_scores`` attribute."""
    return trial.intermediate_values or dict(enumerate(trial.user_attrs.get(EPOCH_SCORES, [])))


def progress_line(trial: FrozenTrial, elapsed: float) -> str:
    """One line: epochs scored of the budget, the last and the best score so far, and the time
    since the trial started, as in ``trial   3  epoch 2/6  last 0.4112  best 0.4300  12 s``."""
    scores = epoch_scores(trial)
    planned = trial.user_attrs.get(MAX_EPOCHS)
    line = f"trial {trial.number:3d}  epoch {len(scores)}" + (f"/{planned}" if planned else "")
    if scores:
        line += f"  last {scores[max(scores)]:.4f}  best {max(scores.values()):.4f}"
    return f"{line}  {duration(elapsed)}"
