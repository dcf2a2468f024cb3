"""Search spaces and objectives: the shipped YAML loads and samples; bad YAML names file and key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import optuna
import pytest

from harness.config import RunConfig, SpaceError, load_objective, load_space
from harness.models import MODELS

ROOT = Path(__file__).resolve().parents[2]
SPACES = sorted((ROOT / "search_spaces").glob("*.yaml"))
OBJECTIVES = sorted((ROOT / "objectives").glob("*.yaml"))


@pytest.mark.parametrize("path", SPACES, ids=lambda p: p.stem)
@pytest.mark.parametrize("profile", ["seed", "cpu"])
def test_every_space_samples_valid_configs(path: Path, profile: str) -> None:
    space = load_space(path).for_profile(profile)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        run = space.suggest(trial)
        assert isinstance(run, RunConfig)
        assert run.model == path.stem
        study.tell(trial, 0.0)


@pytest.mark.parametrize("path", OBJECTIVES, ids=lambda p: p.stem)
def test_every_objective_loads(path: Path) -> None:
    spec = load_objective(path)
    assert spec.model == (None if spec.pareto else path.stem)  # a Pareto file: any model's
    pruners = {"median": optuna.pruners.MedianPruner, "none": optuna.pruners.NopPruner}
    assert isinstance(spec.make_pruner(spec.budget), pruners[spec.pruner.type])
    samplers = {"tpe": optuna.samplers.TPESampler, "nsga2": optuna.samplers.NSGAIISampler}
    assert isinstance(spec.make_sampler(0), samplers[spec.sampler.type])


def _space(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


BAD_SPACES = {
    "unknown fixed key": ("model: nhits\nfixed: {mlp_unitz: 3}\n", "fixed.mlp_unitz: unknown key"),
    "unknown param key": (
        "model: nhits\nparams:\n  widht: {type: int, low: 1, high: 3}\n",
        "params.widht: unknown key",
    ),
    "float written 1e-4": (
        "model: nhits\nparams:\n  learning_rate: {type: float, low: 1e-5, high: 1.0e-2}\n",
        "params.learning_rate.low",
    ),
    "bad range": (
        "model: nhits\nparams:\n  dropout: {type: float, low: 0.3, high: 0.1}\n",
        "params.dropout: Value error, low (0.3) must be below high (0.1)",
    ),
    "unknown distribution": (
        "model: nhits\nparams:\n  dropout: {type: uniform, low: 0.0, high: 0.1}\n",
        "params.dropout",
    ),
    "unknown top-level key": ("model: nhits\nfixd: {}\n", "fixd: Extra inputs are not permitted"),
    "unknown model": ("model: lstm\n", "model: unknown model 'lstm'"),
    "wrong type in fixed": ("model: nhits\nfixed: {batch_size: '64'}\n", "batch_size must be int"),
    "constraint broken": (
        "model: patchtst\nparams:\n  n_heads: {type: categorical, choices: [3, 4]}\n",
        "n_heads=3",
    ),
    "not yaml": ("model: [nhits\n", "not valid YAML"),
    "unknown key in a profile": (
        "model: nhits\nprofiles:\n  cpu:\n    fixed: {mlp_unitz: 3}\n",
        "profiles.cpu.fixed.mlp_unitz: unknown key",
    ),
    "constraint broken in a profile": (
        "model: patchtst\nprofiles:\n  cpu:\n    params:\n"
        "      n_heads: {type: categorical, choices: [3, 4]}\n",
        "n_heads=3 (profile cpu)",
    ),
    "a seed section": (
        "model: nhits\nprofiles:\n  seed: {fixed: {mlp_units: 3}}\n",
        "the seed profile is the top level",
    ),
    "a profile name with a dash": (
        "model: nhits\nprofiles:\n  big-gpu: {fixed: {mlp_units: 3}}\n",
        "profiles.big-gpu",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SPACES))
def test_bad_space_is_an_error_naming_file_and_key(case: str, tmp_path: Path) -> None:
    text, expected = BAD_SPACES[case]
    path = _space(tmp_path, text)
    with pytest.raises(SpaceError) as info:
        load_space(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert expected in message


def test_preset_expands_into_its_keys(tmp_path: Path) -> None:
    path = _space(
        tmp_path,
        "model: patchtst\nparams:\n  patching:\n    type: preset\n    choices:\n"
        "      a: {patch_len: 8, stride: 4}\n      b: {patch_len: 32, stride: 16}\n",
    )
    space = load_space(path)
    run = space.suggest(optuna.trial.FixedTrial({"patching": "b"}))
    assert (run.net.patch_len, run.net.stride) == (32, 16)


def test_a_profile_replaces_the_keys_it_names(tmp_path: Path) -> None:
    path = _space(
        tmp_path,
        "model: nhits\nfixed: {mlp_units: 512, dropout: 0.1}\n"
        "profiles:\n  cpu:\n    fixed: {mlp_units: 32}\n",
    )
    space = load_space(path)
    cpu = space.for_profile("cpu").suggest(optuna.trial.FixedTrial({}))
    seed = space.for_profile("seed").suggest(optuna.trial.FixedTrial({}))
    assert (cpu.net.mlp_units, cpu.net.dropout) == (32, 0.1)
    assert seed.net.mlp_units == 512


def test_a_profile_without_a_section_is_the_top_level(tmp_path: Path) -> None:
    space = load_space(_space(tmp_path, "model: nhits\nfixed: {mlp_units: 64}\n"))
    assert space.for_profile("cpu").flat({}) == space.for_profile("seed").flat({})


def test_each_profile_of_an_objective_has_its_budget(tmp_path: Path) -> None:
    path = tmp_path / "objective.yaml"
    path.write_text(
        "model: nhits\nbudget: {max_epochs: 30}\n"
        "profiles:\n  cpu: {budget: {max_epochs: 6, batches_per_epoch: 8}}\n"
    )
    spec = load_objective(path)
    assert spec.for_profile("seed").budget.max_epochs == 30
    assert spec.for_profile("cpu").budget.batches_per_epoch == 8
    assert spec.for_profile("other").budget == spec.budget  # no section: the top level's


def test_bad_objective_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "objective.yaml"
    path.write_text("model: nhits\npruner: {type: median, n_startup: 3}\n")
    with pytest.raises(SpaceError, match=r"objective.yaml: pruner.median.n_startup"):
        load_objective(path)


@pytest.mark.parametrize("path", SPACES, ids=lambda p: p.stem)
def test_a_model_config_s_defaults_are_its_space_s_seed_config(path: Path) -> None:
    """One source per default: the `fixed:` block names every key of the model's Config, at
    the value its dataclass defaults to, so ``Config()`` is the seed's config and a profile
    section is the only place a size differs."""
    space = load_space(path)
    defaults = {f.name: f.default for f in dataclasses.fields(MODELS[space.model].config)}
    assert {k: space.fixed.get(k) for k in defaults} == defaults
