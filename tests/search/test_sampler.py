"""WorkerSampler: workers of one study, and runs one after another, never share a seed, and a
worker's draws are reproducible from what its trials record."""

from __future__ import annotations

import optuna
import pytest

from harness.config import ObjectiveSpec
from harness.search import WorkerSampler
from harness.seeds import mix

SPEC = ObjectiveSpec.model_validate({"model": "nhits", "sampler": {"type": "random"}})


def worker(storage: optuna.storages.BaseStorage, seed: int = 0) -> optuna.Study:
    sampler = WorkerSampler(SPEC.make_sampler, study_seed=seed)
    return optuna.load_study(study_name="s", storage=storage, sampler=sampler)


def draw(study: optuna.Study) -> float:
    trial = study.ask()
    value = trial.suggest_float("x", 0.0, 1.0)
    study.tell(trial, value)
    return value


@pytest.fixture
def storage() -> optuna.storages.BaseStorage:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    return storage


def test_two_workers_and_a_rerun_draw_different_configurations(
    storage: optuna.storages.BaseStorage,
) -> None:
    a, b = worker(storage), worker(storage)  # two processes started at the same moment
    values = [draw(a), draw(b), draw(a), draw(b)]
    values += [draw(worker(storage)) for _ in range(2)]  # runs resumed after them
    assert len(set(values)) == len(values)


def test_a_workers_seed_is_the_study_seed_mixed_with_its_first_trial(
    storage: optuna.storages.BaseStorage,
) -> None:
    first = worker(storage, seed=7)
    draw(first)
    second = worker(storage, seed=7)
    values = [draw(second), draw(second)]
    assert isinstance(second.sampler, WorkerSampler)
    assert second.sampler.first_trial == 1
    assert second.sampler.seed == mix(7, 1)

    again = optuna.create_study(sampler=SPEC.make_sampler(mix(7, 1)))  # from the stored seed
    assert [draw(again), draw(again)] == values
