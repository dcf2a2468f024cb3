"""What a trial optimizes: objectives/{model}.yaml as a typed object.

model: patchtst
score:   {sharpe_term: psr, sharpe_weight: 0.1, f1_weight: 1.0, reduce: mean, cost_bps: 1.0}
budget:  {max_epochs: 30, patience: 5, batches_per_epoch: 400, train_eval_rows: 8192}  # Budget
profiles:                   # the budget of each profile (the top level is the seed profile's)
  cpu: {budget: {max_epochs: 6, patience: 2, batches_per_epoch: 32, train_eval_rows: 1024}}
pruner:  {type: median, n_startup_trials: 5, n_warmup_steps: 2}
sampler: {type: tpe, n_startup_trials: 10, multivariate: true}
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from harness.config.files import parse_yaml
from harness.config.profile import NAME_PATTERN, SEED
from harness.config.run import Budget, ScoreConfig
from harness.typed import Strict

if TYPE_CHECKING:  # the factories below import Optuna when called: reading a file needs none
    import optuna


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
        import optuna

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
        import optuna

        if self.sampler.type == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=self.sampler.n_startup_trials,
            multivariate=self.sampler.multivariate,
        )


def load_objective(path: Path) -> ObjectiveSpec:
    return parse_yaml(path, ObjectiveSpec)
