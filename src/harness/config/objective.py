"""What a trial optimizes: objectives/{model}.yaml as a typed object.

model: patchtst             # leave it out in a file any model may use (objectives/pareto.yaml)
score:   {sharpe_term: psr, sharpe_weight: 0.1, f1_weight: 1.0, reduce: mean, cost_bps: 1.0}
directions:                 # optional: a Pareto search of these objectives instead of the score
  - {metric: macro_f1, reduce: mean, direction: maximize}
  - {metric: timing_psr, reduce: mean, direction: maximize}
budget:  {max_epochs: 30, patience: 5, batches_per_epoch: 400, train_eval_rows: 8192}  # Budget
profiles:                   # the budget of each profile (the top level is the seed profile's)
  cpu: {budget: {max_epochs: 6, patience: 2, batches_per_epoch: 32, train_eval_rows: 1024}}
pruner:  {type: median, n_startup_trials: 5, n_warmup_steps: 2}
sampler: {type: tpe, n_startup_trials: 10, multivariate: true}   # or {type: nsga2, ...}

A file with `directions:` asks Optuna for the Pareto front of two or more objectives, each one
metric of the best epoch's val split reduced over the score's horizons. Optuna's pruners follow
one objective, so such a file runs without one (`pruner:` left out, or `{type: none}`); the
single-objective `score:` still picks each trial's best epoch and early-stops it, and picks the
member of the front that finalize exports (``storage.pareto``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, model_validator

from harness.config.files import parse_yaml
from harness.config.profile import NAME_PATTERN, SEED
from harness.config.run import Budget, ScoreConfig
from harness.metrics import ACCURACY, MACRO_F1, PSR, SHARPE, TIMING_PSR, Reduce, reduce_metric
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
    type: Literal["tpe", "random", "nsga2"] = "tpe"
    n_startup_trials: int = Field(default=10, ge=0)  # tpe
    multivariate: bool = True  # tpe
    population_size: int = Field(default=50, ge=2)  # nsga2: trials per generation

    @model_validator(mode="after")
    def _keys_of_its_type(self) -> SamplerSection:
        unused = {
            "nsga2": ("n_startup_trials", "multivariate"),
            "tpe": ("population_size",),
            "random": ("population_size",),
        }[self.type]
        given = [k for k in unused if k in self.model_fields_set]
        if given:
            raise ValueError(f"{', '.join(given)}: not an option of the {self.type} sampler")
        return self


Metric = Literal["macro_f1", "accuracy", "timing_psr", "psr", "sharpe"]
# the key of each in a horizon's val metrics (metrics.evaluate_split)
METRIC_KEYS: dict[Metric, str] = {
    "macro_f1": MACRO_F1,
    "accuracy": ACCURACY,
    "timing_psr": TIMING_PSR,
    "psr": PSR,
    "sharpe": SHARPE,
}


Goal = Literal["maximize", "minimize"]  # Optuna's words


class Direction(Strict):
    """One objective of a Pareto search: `metric` of the best epoch's val split, reduced over
    the score's horizons (``score.horizons``, else the data's)."""

    metric: Metric
    reduce: Reduce = "mean"
    direction: Goal = "maximize"

    @property
    def name(self) -> str:
        """How the study, the dashboard and the reports name it: ``mean val macro_f1``."""
        return f"{self.reduce} val {self.metric}"


class ObjectiveProfile(Strict):
    """What one profile changes in an objective: the budget."""

    budget: Budget


class ObjectiveSpec(Strict):
    model: str | None = None  # None: a file any model may use
    score: ScoreConfig = ScoreConfig()
    directions: tuple[Direction, ...] | None = Field(default=None, strict=False)
    budget: Budget = Budget()
    profiles: dict[Annotated[str, Field(pattern=NAME_PATTERN)], ObjectiveProfile] = Field(
        default_factory=dict
    )
    pruner: PrunerSection = MedianPruner(type="median")
    sampler: SamplerSection = SamplerSection()

    @model_validator(mode="before")
    @classmethod
    def _no_pruner_for_a_front(cls, raw: Any) -> Any:
        # A Pareto search's default pruner is none: Optuna's pruners follow one objective.
        if isinstance(raw, dict) and raw.get("directions") is not None and "pruner" not in raw:
            return {**raw, "pruner": {"type": "none"}}
        return raw

    @model_validator(mode="after")
    def _no_seed_section(self) -> ObjectiveSpec:
        if SEED in self.profiles:
            raise ValueError(f"profiles.{SEED}: the {SEED} profile is the top level of the file")
        return self

    @model_validator(mode="after")
    def _a_front_of_two_or_more(self) -> ObjectiveSpec:
        if self.directions is None:
            return self
        if len(self.directions) < 2:
            raise ValueError(
                "directions: name two or more objectives for a Pareto search; for one number "
                "leave `directions:` out and let `score:` say what it is"
            )
        names = [d.name for d in self.directions]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"directions: {', '.join(twice)} named twice")
        if not isinstance(self.pruner, NoPruner):
            raise ValueError(
                f"pruner: {self.pruner.type} prunes on one objective, and `directions:` asks "
                "for several; Optuna prunes no multi-objective study: set `pruner: {type: "
                "none}` or leave the key out"
            )
        return self

    @property
    def pareto(self) -> bool:
        """A Pareto search of several objectives, not of the one score."""
        return self.directions is not None

    @property
    def study_directions(self) -> list[Goal]:
        """Optuna's `directions` of the study: one "maximize" (the score) or one per objective."""
        return ["maximize"] if self.directions is None else [d.direction for d in self.directions]

    @property
    def metric_names(self) -> list[str]:
        """What the study calls its objectives (``Study.set_metric_names``)."""
        return ["score"] if self.directions is None else [d.name for d in self.directions]

    def objective_values(self, val: Mapping[int, Mapping[str, Any]]) -> list[float]:
        """A Pareto search's objectives, in order, of one epoch's val metrics per horizon
        (none for a search of the score)."""
        return [
            reduce_metric(val, METRIC_KEYS[d.metric], horizons=self.score.horizons, reduce=d.reduce)
            for d in self.directions or ()
        ]

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
        if self.sampler.type == "nsga2":
            return optuna.samplers.NSGAIISampler(
                seed=seed, population_size=self.sampler.population_size
            )
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=self.sampler.n_startup_trials,
            multivariate=self.sampler.multivariate,
        )


def load_objective(path: Path) -> ObjectiveSpec:
    return parse_yaml(path, ObjectiveSpec)
