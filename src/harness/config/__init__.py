"""Configuration: the YAML files at the edge, read once into typed objects.

- ``RunConfig`` (``TrainConfig`` + a model's Config), ``ScoreConfig``, ``Budget``, ``Caps``.
- ``SearchSpace`` (``search_spaces/{model}.yaml``) and ``ObjectiveSpec`` (``objectives/``),
  each ``for_profile``; ``load_files`` reads a model's pair and checks the profile.
- profiles: ``SEED``, ``CPU``, ``choose_profile``: the sizes a study trains at.
"""

from harness.config.files import (
    SpaceError,
    parse_overrides,
    parse_text,
    parse_yaml,
    project_file,
)
from harness.config.load import ModelFiles, YamlText, files_from_text, load_files
from harness.config.objective import ObjectiveSpec, load_objective
from harness.config.profile import (
    BUILTIN,
    CPU,
    SEED,
    ProfileChoice,
    choose_profile,
    default_profile,
    recorded_choice,
)
from harness.config.run import (
    Budget,
    Caps,
    ConfigError,
    RunConfig,
    ScoreConfig,
    TrainConfig,
    config_keys,
)
from harness.config.space import PresetParam, SearchSpace, load_space

__all__ = [
    "BUILTIN",
    "CPU",
    "SEED",
    "Budget",
    "Caps",
    "ConfigError",
    "ModelFiles",
    "ObjectiveSpec",
    "PresetParam",
    "ProfileChoice",
    "RunConfig",
    "ScoreConfig",
    "SearchSpace",
    "SpaceError",
    "TrainConfig",
    "YamlText",
    "choose_profile",
    "config_keys",
    "default_profile",
    "files_from_text",
    "load_files",
    "load_objective",
    "load_space",
    "parse_overrides",
    "parse_text",
    "parse_yaml",
    "project_file",
    "recorded_choice",
]
