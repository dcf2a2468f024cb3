"""The one generic objective for every model: a trial = one ``recipe.train`` of a sampled config."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState
from optuna_dashboard import save_note
from optuna_integration import PyTorchLightningPruningCallback

from harness import interrupts
from harness.errors import HarnessError
from harness.metrics import SCORE
from harness.search.progress import EpochsPlanned, ScoresKept
from harness.search.sampler import WorkerSampler
from harness.storage.artifacts import store_epoch_log, store_val_predictions
from harness.storage.attrs import score_words, study_note, trial_attrs, trial_note
from harness.storage.pareto import SCORE_ATTR
from harness.storage.study import best_of
from harness.training import Curves, Recipe, seed_for


@dataclass
class Objective:
    """The objective of one study: one trial = one call of ``recipe.train`` on a sampled config."""

    recipe: Recipe
    seed: int  # the study seed: each trial trains with seed_for(seed, trial.number)
    # Where a complete trial stores its best epoch's val classes (search.artifacts), for the
    # probability of backtest overfitting; None: nowhere.
    artifacts: Path | None = None
    # Where each trial logs its training curves, as run trial_{number} (None: nowhere).
    curves: Curves | None = None

    def __call__(self, trial: optuna.Trial) -> float | list[float]:
        try:
            return self._run(trial)
        except optuna.TrialPruned:
            raise
        except Exception as exc:  # the trial fails alone; its reason stays with it
            trial.set_user_attr("fail_reason", f"{type(exc).__name__}: {exc}")
            raise
        except KeyboardInterrupt:
            trial.set_user_attr("fail_reason", f"interrupted ({interrupts.reason()})")
            raise

    def _run(self, trial: optuna.Trial) -> float | list[float]:
        trial.set_user_attr("worker", self.recipe.worker())
        sampler = trial.study.sampler
        if isinstance(sampler, WorkerSampler):  # how to draw this worker's trials again
            trial.set_user_attr("sampler_seed", sampler.seed)
            trial.set_user_attr("sampler_first_trial", sampler.first_trial)
        run = self.recipe.space.suggest(trial)
        trial.set_user_attr("config", run.to_flat())
        trial.set_user_attr("data_fingerprint", self.recipe.data.fingerprint)
        trial.set_user_attr("study_seed", self.seed)  # finalize retrains with the same seed
        epochs: list[dict[str, Any]] = []
        spec = self.recipe.objective
        # Optuna prunes, and takes epoch values of, a study of one objective only
        watch = ScoresKept(trial) if spec.pareto else PyTorchLightningPruningCallback(trial, SCORE)
        start = time.perf_counter()
        try:
            result = self.recipe.train(
                run,
                seed=seed_for(self.seed, trial.number),
                callbacks=[watch, EpochsPlanned(trial)],
                on_epoch=epochs.append,
                curves=None if self.curves is None else self.curves.run(f"trial_{trial.number}"),
            )
        except optuna.TrialPruned:
            # pruned after validating an epoch whose report (at epoch end) never came
            trial.set_user_attr("epochs", len(epochs) + 1)
            trial.set_user_attr("seconds", round(time.perf_counter() - start, 2))
            raise
        except (Exception, KeyboardInterrupt):
            trial.set_user_attr("epochs", len(epochs))
            raise
        trial.set_user_attr("best_epoch", result.best_epoch)
        trial.set_user_attr("epochs", result.epochs)
        trial.set_user_attr("seconds", round(result.seconds, 2))
        trial.set_user_attr(SCORE_ATTR, result.score)  # a Pareto search picks a member by it
        # Every objective is read at the epoch the score kept (its weights are the trial's).
        values = spec.objective_values(result.best["val"])
        attrs = trial_attrs(result.best, self.recipe.score)
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        horizons = self.recipe.data.horizons
        save_note(
            trial,
            trial_note(
                trial.number,
                result.score,
                attrs,
                horizons=horizons,
                epochs=result.epochs,
                best_epoch=result.best_epoch,
                seconds=result.seconds,
            ),
        )
        this = optuna.trial.create_trial(
            values=values or [result.score], user_attrs={SCORE_ATTR: result.score}
        )
        done = trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if best_of([*done, this], trial.study.directions) is this:  # earlier trials win ties
            words = score_words(self.recipe.score, horizons)
            note = study_note(trial.number, result.score, attrs, horizons=horizons, score=words)
            save_note(trial.study, note)
        if self.artifacts is not None:
            try:
                store_val_predictions(
                    trial, result.val_predictions, self.recipe.data.val, self.artifacts
                )
                store_epoch_log(trial, epochs, self.artifacts)
            except (OSError, HarnessError) as exc:  # the trial trained: keep it, say why
                trial.set_user_attr("artifacts_error", f"{type(exc).__name__}: {exc}")
        return values if spec.pareto else result.score
