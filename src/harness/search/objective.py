"""What a trial optimizes (objectives/{model}.yaml) and the one generic objective for every model.

model: patchtst
score:   {sharpe_weight: 0.02, f1_weight: 1.0, horizons: [1, 5, 20], reduce: mean, cost_bps: 1.0}
budget:  {max_epochs: 30, patience: 5, batches_per_epoch: 400, train_eval_rows: 8192}
demo_budget: {...}          # replaces budget on the embedded demo dataset
pruner:  {type: median, n_startup_trials: 5, n_warmup_steps: 2}
sampler: {type: tpe, n_startup_trials: 10, multivariate: true}
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import optuna
import torch
from optuna_integration import PyTorchLightningPruningCallback
from pydantic import Field

from harness.data import Phase1Data, PreparedData, prepare
from harness.metrics import SCORE
from harness.search.space import SearchSpace, _Strict, parse_yaml
from harness.training import DivergedError, RunConfig, ScoreConfig, fit, seed_for


class ScoreSection(_Strict):
    sharpe_weight: float = 0.02
    f1_weight: float = 1.0
    horizons: list[int] | None = None  # None: every horizon of the data
    reduce: Literal["mean", "min", "max"] = "mean"
    cost_bps: float = Field(default=1.0, ge=0)


class Budget(_Strict):
    max_epochs: int = Field(default=30, ge=1)
    patience: int = Field(default=5, ge=1)
    batches_per_epoch: int | None = Field(default=None, ge=1)  # None: every train window
    train_eval_rows: int | None = Field(default=8192, ge=1)  # train rows scored per epoch


class MedianPruner(_Strict):
    type: Literal["median"]
    n_startup_trials: int = Field(default=5, ge=0)
    n_warmup_steps: int = Field(default=2, ge=0)


class SuccessiveHalvingPruner(_Strict):
    type: Literal["successive_halving"]
    min_resource: int = Field(default=1, ge=1)
    reduction_factor: int = Field(default=3, ge=2)


class HyperbandPruner(_Strict):
    type: Literal["hyperband"]
    min_resource: int = Field(default=1, ge=1)
    reduction_factor: int = Field(default=3, ge=2)


class ThresholdPruner(_Strict):
    """Prunes a trial as soon as its score falls below `lower` (after `n_warmup_steps` epochs)."""

    type: Literal["threshold"]
    lower: float
    n_warmup_steps: int = Field(default=0, ge=0)


class NoPruner(_Strict):
    type: Literal["none"]


PrunerSection = Annotated[
    MedianPruner | SuccessiveHalvingPruner | HyperbandPruner | ThresholdPruner | NoPruner,
    Field(discriminator="type"),
]


class SamplerSection(_Strict):
    type: Literal["tpe", "random"] = "tpe"
    n_startup_trials: int = Field(default=10, ge=0)
    multivariate: bool = True


class ObjectiveSpec(_Strict):
    model: str
    score: ScoreSection = ScoreSection()
    budget: Budget = Budget()
    demo_budget: Budget | None = None
    pruner: PrunerSection = MedianPruner(type="median")
    sampler: SamplerSection = SamplerSection()

    def budget_for(self, data: Phase1Data) -> Budget:
        return self.demo_budget if data.is_demo and self.demo_budget else self.budget

    def score_config(self) -> ScoreConfig:
        s = self.score
        horizons = tuple(s.horizons) if s.horizons else None
        return ScoreConfig(
            sharpe_weight=s.sharpe_weight,
            f1_weight=s.f1_weight,
            horizons=horizons,
            reduce=s.reduce,
            cost_bps=s.cost_bps,
        )

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


@dataclass(frozen=True)
class Caps:
    """Smoke-run limits from the command line; they are part of what a study optimizes."""

    epochs: int | None = None
    batches: int | None = None


@dataclass
class Objective:
    """The objective of one study: data loaded once, prepared once per window length."""

    space: SearchSpace
    spec: ObjectiveSpec
    data: Phase1Data
    seed: int
    caps: Caps = Caps()
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    _prepared: dict[tuple[int, str], PreparedData] = field(default_factory=dict)

    @property
    def budget(self) -> Budget:
        return self.spec.budget_for(self.data)

    def digest(self) -> str:
        """What trials of one study must share: the objective, the space and the caps."""
        text = json.dumps(
            {
                "objective": self.spec.model_dump(),
                "budget": self.budget.model_dump(),
                "space": self.space.digest(),
                "caps": [self.caps.epochs, self.caps.batches],
            },
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def run_config(self, trial: optuna.Trial) -> RunConfig:
        run = self.space.suggest(trial)
        flat = run.to_flat()
        flat.update(max_epochs=self.budget.max_epochs, patience=self.budget.patience)
        return RunConfig.from_flat(flat)

    def prepared(self, run: RunConfig) -> PreparedData:
        key = (run.seq_len, run.train.window_end)
        if key not in self._prepared:
            self._prepared[key] = prepare(
                self.data,
                seq_len=key[0],
                window_end=key[1],
                device=self.device,  # type: ignore[arg-type]
            )
        return self._prepared[key]

    def __call__(self, trial: optuna.Trial) -> float:
        run = self.run_config(trial)
        trial.set_user_attr("config", run.to_flat())
        trial.set_user_attr("data_fingerprint", self.data.fingerprint)
        trial.set_user_attr("study_seed", self.seed)  # finalize retrains with the same seed
        epochs: list[dict[str, Any]] = []
        start = time.perf_counter()
        try:
            result = fit(
                run,
                self.prepared(run),
                self.spec.score_config(),
                seed=seed_for(self.seed, trial.number),
                max_epochs=self.caps.epochs,
                max_batches=_min(self.caps.batches, self.budget.batches_per_epoch),
                eval_batches=self.caps.batches,
                train_eval_rows=self.budget.train_eval_rows,
                callbacks=[PyTorchLightningPruningCallback(trial, monitor=SCORE)],
                report=epochs.append,
            )
        except optuna.TrialPruned:
            # pruned after validating an epoch whose report (at epoch end) never came
            trial.set_user_attr("epochs", len(epochs) + 1)
            trial.set_user_attr("seconds", round(time.perf_counter() - start, 2))
            raise
        except (DivergedError, torch.OutOfMemoryError) as exc:
            trial.set_user_attr("fail_reason", f"{type(exc).__name__}: {exc}")
            trial.set_user_attr("epochs", len(epochs))
            raise
        best = result.best
        trial.set_user_attr("best_epoch", result.best_epoch)
        trial.set_user_attr("epochs", result.epochs)
        trial.set_user_attr("seconds", round(result.seconds, 2))
        trial.set_user_attr("val_metrics", _jsonable(best["val"]))
        trial.set_user_attr("train_metrics", _jsonable(best.get("train", {})))
        trial.set_user_attr("train_val_gap", train_val_gap(best))
        return result.score


def train_val_gap(entry: dict[str, Any]) -> dict[str, float | None]:
    """Relative drop of macro-F1 from train to val per horizon: (train - val) / train."""
    gap: dict[str, float | None] = {}
    for h, val in entry.get("val", {}).items():
        train = entry.get("train", {}).get(h)
        if train is None or not train["macro_f1"]:
            gap[str(h)] = None
        else:
            gap[str(h)] = (train["macro_f1"] - val["macro_f1"]) / train["macro_f1"]
    return gap


def _min(*values: int | None) -> int | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _jsonable(metrics: dict[Any, Any]) -> dict[str, Any]:
    """Horizon keys as strings and no NaN/inf: what a study's JSON attributes can hold."""

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    return clean(metrics)
