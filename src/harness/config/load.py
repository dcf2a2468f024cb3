"""A model's pair of YAML files, its search space and its objective, read and checked together.

A search records the text of both on its study (``ModelFiles.texts``); finalize and overfit
rebuild the pair from that text (``files_from_text``), so they retrain with the budget and score
the search ran with, whatever the files on disk say today.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from harness.config.files import SpaceError, parse_text, project_file, read_text
from harness.config.objective import ObjectiveSpec
from harness.config.profile import BUILTIN, check_name
from harness.config.space import SearchSpace, check_space


@dataclass(frozen=True)
class YamlText:
    """One file's text and where it came from (a path, or the study that recorded it)."""

    source: str
    text: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ModelFiles:
    """A model's space and objective, every profile in them, with the text they were read from."""

    model: str
    space: SearchSpace
    objective: ObjectiveSpec
    space_text: YamlText
    objective_text: YamlText

    def check_profile(self, profile: str) -> None:
        """A SpaceError naming the known profiles when neither file knows `profile`."""
        known = list(dict.fromkeys([*BUILTIN, *self.space.profiles, *self.objective.profiles]))
        check_name(profile, known, files=(self.space_text.source, self.objective_text.source))


def load_files(
    model: str,
    space_file: Path | None = None,
    objective_file: Path | None = None,
    *,
    profile: str | None = None,
) -> ModelFiles:
    """The space and objective files of `model` (default: the project's), every profile in them;
    with `profile`, checked to know it (`seed`, `cpu`, or a section of either file)."""
    space_path = project_file("search_spaces", model, space_file)
    objective_path = project_file("objectives", model, objective_file)
    return files_from_text(
        model,
        YamlText(str(space_path), read_text(space_path)),
        YamlText(str(objective_path), read_text(objective_path)),
        profile=profile,
    )


def files_from_text(
    model: str, space: YamlText, objective: YamlText, *, profile: str | None = None
) -> ModelFiles:
    """The pair parsed from its text; errors name each text's source and the key."""
    files = ModelFiles(
        model=model,
        space=check_space(parse_text(space.text, SearchSpace, source=space.source), space.source),
        objective=parse_text(objective.text, ObjectiveSpec, source=objective.source),
        space_text=space,
        objective_text=objective,
    )
    for text, named in ((space, files.space.model), (objective, files.objective.model)):
        if named is not None and named != model:  # an objective without one: any model's
            raise SpaceError(f"{text.source}: model: {named!r}, but this run is for {model!r}")
    if profile is not None:
        files.check_profile(profile)
    return files
