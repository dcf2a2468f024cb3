"""What a trial optimizes (objectives/{model}.yaml) and the one generic objective for every model.

model: patchtst
score:   {sharpe_term: psr, sharpe_weight: 0.1, f1_weight: 1.0, reduce: mean, cost_bps: 1.0}
budget:  {max_epochs: 30, patience: 5, batches_per_epoch: 400, train_eval_rows: 8192}  # Budget
profiles:                   # the budget of each profile (the top level is the seed profile's)
  cpu: {budget: {max_epochs: 6, patience: 2, batches_per_epoch: 32, train_eval_rows: 1024}}
pruner:  {type: median, n_startup_trials: 5, n_warmup_steps: 2}
sampler: {type: tpe, n_startup_trials: 10, multivariate: true}
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import optuna
from optuna.trial import TrialState
from optuna_dashboard import save_note
from optuna_integration import PyTorchLightningPruningCallback
from pydantic import Field, model_validator

from harness.errors import HarnessError
from harness.metrics import SCORE
from harness.search.artifacts import store_epoch_log, store_val_predictions
from harness.search.attrs import score_words, study_note, trial_attrs, trial_note
from harness.search.profile import NAME_PATTERN, SEED
from harness.search.progress import EpochsPlanned
from harness.search.sampler import WorkerSampler
from harness.search.space import parse_yaml
from harness.search.study import best_of
from harness.training import Budget, ScoreConfig, seed_for
from harness.typed import Strict

if TYPE_CHECKING:  # the recipe holds an ObjectiveSpec: importing it here would be a cycle
    from harness.search.recipe import Recipe


class MedianPruner(Strict):
    type: Literal["median"]
    n_startup_trials: int = Field(default=5, ge=0)
    n_warmup_steps: int = Field(default=2, ge=0)


class SuccessiveHalvingPruner(Strict):
    type: Literal["successive_halving"]
    min_resource: int = Field(default=1, ge=1)
    reduction_factor: int = Field(default=3, ge=2)


class HyperbandPruner(Strict):
    type: Literal["hyperband"]
    min_resource: int = Field(default=1, ge=1)
    reduction_factor: int = Field(default=3, ge=2)


class ThresholdPruner(Strict):
    """Prunes a trial as soon as its score falls below `lower` (after `n_warmup_steps` epochs)."""

    type: Literal["threshold"]
    lower: float
    n_warmup_steps: int = Field(default=0, ge=0)


class NoPruner(Strict):
    type: Literal["none"]


PrunerSection = Annotated[
    MedianPruner | SuccessiveHalvingPruner | HyperbandPruner | ThresholdPruner | NoPruner,
    Field(discriminator="type"),
]


class SamplerSection(Strict):
    type: Literal["tpe", "random"] = "tpe"
    n_startup_trials: int = Field(default=10, ge=0)
    multivariate: bool = True


class ObjectiveProfile(Strict):
    """What one profile changes in an objective: the budget."""

    budget: Budget


class ObjectiveSpec(Strict):
    model: str
    score: ScoreConfig = ScoreConfig()
    budget: Budget = Budget()
    profiles: dict[Annotated[str, Field(pattern=NAME_PATTERN)], ObjectiveProfile] = Field(
        default_factory=dict
    )
    pruner: PrunerSection = MedianPruner(type="median")
    sampler: SamplerSection = SamplerSection()

    @model_validator(mode="after")
    def _no_seed_section(self) -> ObjectiveSpec:
        if SEED in self.profiles:
            raise ValueError(f"profiles.{SEED}: the {SEED} profile is the top level of the file")
        return self

    def for_profile(self, name: str) -> ObjectiveSpec:
        """The objective of a study of profile `name`: its budget in `budget` (the top level's
        where the file has no section for it)."""
        section = self.profiles.get(name)
        budget = self.budget if section is None else section.budget
        return self.model_copy(update={"budget": budget, "profiles": {}})

    def make_pruner(self, budget: Budget) -> optuna.pruners.BasePruner:
        p = self.pruner
        if isinstance(p, MedianPruner):
            return optuna.pruners.MedianPruner(
                n_startup_trials=p.n_startup_trials, n_warmup_steps=p.n_warmup_steps
            )
        if isinstance(p, SuccessiveHalvingPruner):
            return optuna.pruners.SuccessiveHalvingPruner(
                min_resource=p.min_resource, reduction_factor=p.reduction_factor
            )
        if isinstance(p, HyperbandPruner):
            return optuna.pruners.HyperbandPruner(
                min_resource=p.min_resource,
                max_resource=budget.max_epochs,
                reduction_factor=p.reduction_factor,
            )
        if isinstance(p, ThresholdPruner):
            return optuna.pruners.ThresholdPruner(lower=p.lower, n_warmup_steps=p.n_warmup_steps)
        return optuna.pruners.NopPruner()

    def make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        if self.sampler.type == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=self.sampler.n_startup_trials,
            multivariate=self.sampler.multivariate,
        )


def load_objective(path: Path) -> ObjectiveSpec:
    return parse_yaml(path, ObjectiveSpec)


@dataclass
class Objective:
    """The objective of one study: one trial = one call of ``recipe.train`` on a sampled config."""

    recipe: Recipe
    seed: int  # the study seed: each trial trains with seed_for(seed, trial.number)
    # Where a complete trial stores its best epoch's val classes (search.artifacts), for the
    # probability of backtest overfitting; None: nowhere.
    artifacts: Path | None = None

    def __call__(self, trial: optuna.Trial) -> float:
        try:
            return self._run(trial)
        except optuna.TrialPruned:
            raise
        except Exception as exc:  # the trial fails alone; its reason stays with it
            trial.set_user_attr("fail_reason", f"{type(exc).__name__}: {exc}")
            raise
        except KeyboardInterrupt:
            trial.set_user_attr("fail_reason", "interrupted (Ctrl-C)")
            raise

    def _run(self, trial: optuna.Trial) -> float:
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
        start = time.perf_counter()
        try:
            result = self.recipe.train(
                run,
                seed=seed_for(self.seed, trial.number),
                callbacks=[
                    PyTorchLightningPruningCallback(trial, monitor=SCORE),
                    EpochsPlanned(trial),
                ],
                report=epochs.append,
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
        best = best_of(trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        if best is None or best.value is None or result.score > best.value:
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
        return result.score
