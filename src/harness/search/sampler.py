"""A worker's sampler, seeded so that no two workers and no two runs draw the same configurations.

Seeding every worker's sampler from the study seed alone (or seed + worker index) makes two
processes on one study, and a run resumed after another, draw the same start-up configurations.
A ``WorkerSampler`` is seeded when its worker starts its first trial, from the study seed and
that trial's number: the storage hands each trial number to one trial only, so no two workers
(of one run, of runs one after another, or on machines sharing a storage) share a seed, and the
seed is still a pure function of the study seed and a number every trial of the worker records
(``sampler_seed`` and ``sampler_first_trial``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from optuna import Study
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from harness.seeds import mix


class WorkerSampler(BaseSampler):
    """Delegates to ``make(seed)``, built at the worker's first trial with
    ``seed = mix(study_seed, number of that trial)``."""

    def __init__(self, make: Callable[[int], BaseSampler], *, study_seed: int) -> None:
        self._make = make
        self.study_seed = study_seed
        self.first_trial: int | None = None
        self.seed: int | None = None
        self._inner: BaseSampler | None = None

    @property
    def inner(self) -> BaseSampler:
        if self._inner is None:
            raise RuntimeError("WorkerSampler: used before its first trial began")
        return self._inner

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        # Optuna calls this first for every trial, before it samples anything.
        if self._inner is None:
            self.first_trial = trial.number
            self.seed = mix(self.study_seed, trial.number)
            self._inner = self._make(self.seed)
        self._inner.before_trial(study, trial)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self.inner.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self.inner.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self.inner.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self.inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        if self._inner is not None:
            self._inner.reseed_rng()
