"""A model's pair of YAML files, its search space and its objective, read and checked together."""

from __future__ import annotations

from pathlib import Path

from harness.config.files import project_file
from harness.config.objective import ObjectiveSpec, load_objective
from harness.config.profile import BUILTIN, check_name
from harness.config.space import SearchSpace, load_space
from harness.errors import HarnessError


def load_files(
    model: str,
    space_file: Path | None = None,
    objective_file: Path | None = None,
    *,
    profile: str | None = None,
) -> tuple[SearchSpace, ObjectiveSpec]:
    """The space and objective files of `model` (default: the project's), every profile in them;
    with `profile`, checked to know it (`seed`, `cpu`, or a section of either file)."""
    space_path = project_file("search_spaces", model, space_file)
    objective_path = project_file("objectives", model, objective_file)
    space = load_space(space_path)
    spec = load_objective(objective_path)
    for path, named in ((space_path, space.model), (objective_path, spec.model)):
        if named != model:
            raise HarnessError(f"{path}: model: {named!r}, but this run is for {model!r}")
    if profile is not None:
        known = list(dict.fromkeys([*BUILTIN, *space.profiles, *spec.profiles]))
        check_name(profile, known, files=(space_path, objective_path))
    return space, spec
