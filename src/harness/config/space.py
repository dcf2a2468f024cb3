"""Search spaces: a YAML file -> typed object -> `trial.suggest_*` -> one flat config.

    model: patchtst
    fixed:  {seq_len: 128, learning_rate: 1.0e-4}      # defaults: the seed's config
    params:                                             # what a trial samples
      learning_rate: {type: float, low: 1.0e-5, high: 1.0e-2, log: true}
      d_model:       {type: categorical, choices: [64, 128, 256]}
      patching:      {type: preset, choices: {p16s8: {patch_len: 16, stride: 8}, ...}}
    profiles:                                           # sections that replace the top level
      cpu: {fixed: {d_model: 32}, params: {d_model: {type: categorical, choices: [16, 32]}}}

A `preset` is a categorical of named bundles of values, so list-like or coupled options persist
in Optuna as one scalar. Every combination of choices (and every range's ends) is built into a
config when the file is loaded, so a constraint (heads divide d_model, stride <= patch_len <=
seq_len) holds by construction and no trial fails for it, under every profile.

The top level is the `seed` profile (the seed's sizes, for a GPU); a section under `profiles:`
replaces values and distributions key by key (see harness.config.profile).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, model_validator

from harness.config.files import SpaceError, parse_yaml
from harness.config.profile import NAME_PATTERN, SEED
from harness.config.run import ConfigError, RunConfig, config_keys
from harness.typed import Strict

if TYPE_CHECKING:  # only a trial's suggest_* methods are called: no Optuna import here
    import optuna

Scalar = bool | int | float | str
_MAX_COMBINATIONS = 50_000


class FloatParam(Strict):
    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = None

    @model_validator(mode="after")
    def _range(self) -> FloatParam:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        if self.log and self.step is not None:
            raise ValueError("log and step cannot be combined")
        return self

    def suggest(self, trial: optuna.Trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log, step=self.step)

    def corners(self) -> list[float]:
        return [self.low, self.high]


class IntParam(Strict):
    type: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: int = 1

    @model_validator(mode="after")
    def _range(self) -> IntParam:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self

    def suggest(self, trial: optuna.Trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log, step=self.step)

    def corners(self) -> list[int]:
        return [self.low, self.high]


class CategoricalParam(Strict):
    type: Literal["categorical"]
    choices: list[Scalar] = Field(min_length=1)

    def suggest(self, trial: optuna.Trial, name: str) -> Scalar:
        value = trial.suggest_categorical(name, self.choices)
        assert value is not None  # one of the choices, and a Scalar is never None
        return value

    def corners(self) -> list[Scalar]:
        return list(self.choices)


class PresetParam(Strict):
    type: Literal["preset"]
    choices: dict[str, dict[str, Scalar]] = Field(min_length=1)

    def suggest(self, trial: optuna.Trial, name: str) -> str:
        return trial.suggest_categorical(name, list(self.choices))

    def corners(self) -> list[str]:
        return list(self.choices)


Param = Annotated[
    FloatParam | IntParam | CategoricalParam | PresetParam, Field(discriminator="type")
]


class ProfileOverride(Strict):
    """Values and distributions that replace the top-level ones under one profile (`cpu`: sized
    so a search fits a laptop's CPU; the top level is sized for a GPU)."""

    fixed: dict[str, Scalar] = Field(default_factory=dict)
    params: dict[str, Param] = Field(default_factory=dict)


ProfileName = Annotated[str, Field(pattern=NAME_PATTERN)]


class SearchSpace(Strict):
    model: str
    fixed: dict[str, Scalar] = Field(default_factory=dict)
    params: dict[str, Param] = Field(default_factory=dict)
    profiles: dict[ProfileName, ProfileOverride] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _no_seed_section(self) -> SearchSpace:
        if SEED in self.profiles:
            raise ValueError(f"profiles.{SEED}: the {SEED} profile is the top level of the file")
        return self

    def for_profile(self, name: str) -> SearchSpace:
        """The space a study of profile `name` samples: its section merged in, key by key (a
        profile the file has no section for samples the top level)."""
        section = self.profiles.get(name)
        if section is None:
            return self.model_copy(update={"profiles": {}})
        return SearchSpace(
            model=self.model,
            fixed={**self.fixed, **section.fixed},
            params={**self.params, **section.params},
        )

    def flat(self, sampled: dict[str, Any]) -> dict[str, Any]:
        """The flat config: fixed values, then sampled ones, presets expanded into their keys."""
        values: dict[str, Any] = {"model": self.model, **self.fixed}
        for name, value in sampled.items():
            param = self.params[name]
            if isinstance(param, PresetParam):
                values.update(param.choices[value])
            else:
                values[name] = value
        return values

    def default_run(self, overrides: Mapping[str, Any] | None = None, *, where: str) -> RunConfig:
        """The `fixed:` config (the seed's defaults, sized for the profile), then `overrides`."""
        return RunConfig.from_flat({**self.flat({}), **(overrides or {})}, where=where)

    def suggest(self, trial: optuna.Trial) -> RunConfig:
        sampled = {name: p.suggest(trial, name) for name, p in self.params.items()}
        return RunConfig.from_flat(self.flat(sampled), where=f"search space of {self.model}")

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(), sort_keys=True).encode()).hexdigest()[
            :12
        ]


def load_space(path: Path) -> SearchSpace:
    """Parse, type-check and check every combination of `path`; errors name file and key."""
    return check_space(parse_yaml(path, SearchSpace), path)


def check_space(space: SearchSpace, path: Path | str) -> SearchSpace:
    """`space` when its keys are known and every combination builds a config, under every
    profile; errors name `path` (a file, or the study that recorded it) and the key."""
    if not _known_model(space.model):
        raise SpaceError(f"{path}: model: unknown model {space.model!r}")
    _check_keys(space, path, prefix="")
    for name in space.profiles:
        _check_keys(space.for_profile(name), path, prefix=f"profiles.{name}.")
    for name in (SEED, *space.profiles):
        _check_combinations(space.for_profile(name), path, profile=name)
    return space


def _check_keys(space: SearchSpace, path: Path | str, *, prefix: str) -> None:
    keys = config_keys(space.model)
    for section, names in (("fixed", space.fixed), ("params", space.params)):
        for name in names:
            if name not in keys and not isinstance(space.params.get(name), PresetParam):
                raise SpaceError(f"{path}: {prefix}{section}.{name}: unknown key for {space.model}")
    for name, param in space.params.items():
        if isinstance(param, PresetParam):
            for choice, bundle in param.choices.items():
                for key in bundle:
                    if key not in keys:
                        raise SpaceError(
                            f"{path}: {prefix}params.{name}.choices.{choice}.{key}: unknown key "
                            f"for {space.model}"
                        )


def _check_combinations(space: SearchSpace, path: Path | str, *, profile: str) -> None:
    names = list(space.params)
    grids = [space.params[n].corners() for n in names]
    total = 1
    for g in grids:
        total *= len(g)
    if total > _MAX_COMBINATIONS:
        raise SpaceError(
            f"{path}: params (profile {profile}): {total} combinations of choices and range "
            f"ends; at most {_MAX_COMBINATIONS} can be checked (merge coupled options into presets)"
        )
    for combo in itertools.product(*grids):
        try:
            RunConfig.from_flat(space.flat(dict(zip(names, combo, strict=True))))
        except ConfigError as exc:
            shown = ", ".join(f"{n}={v!r}" for n, v in zip(names, combo, strict=True))
            raise SpaceError(
                f"{path}: the combination {shown} (profile {profile}) is invalid: {exc}"
            ) from None


def _known_model(name: str) -> bool:
    try:
        config_keys(name)
    except KeyError:
        return False
    return True
