"""The project's YAML files: where they are, and how one is read into a typed object."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import HarnessError

T = TypeVar("T", bound=BaseModel)


class SpaceError(HarnessError):
    """A search space or objective file that cannot be used; the message names file and key."""


def project_file(folder: str, model: str, given: Path | None = None) -> Path:
    """A YAML of the project: the one given, else ./folder/model.yaml, else the checkout's."""
    if given is not None:
        if given.is_dir():
            raise SpaceError(f"{given}: is a folder; give the YAML file, e.g. {given / model}.yaml")
        return given
    here = Path(folder) / f"{model}.yaml"
    if here.is_file():
        return here
    return Path(__file__).resolve().parents[3] / folder / f"{model}.yaml"


def parse_yaml(path: Path, schema: type[T]) -> T:
    """Read a YAML file into `schema`; any problem is a SpaceError naming the file and key."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise SpaceError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise SpaceError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SpaceError(f"{path}: expected a mapping at the top, found {type(raw).__name__}")
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            # drop pydantic's union-member names ("float", "int", ...) from the key path
            loc = [str(p) for p in err["loc"] if p not in ("float", "int", "categorical", "preset")]
            value = (
                f" (got {err['input']!r})"
                if "input" in err and not isinstance(err["input"], dict)
                else ""
            )
            problems.append(f"{'.'.join(loc) or '<top>'}: {err['msg']}{value}")
        raise SpaceError(f"{path}: " + "; ".join(problems)) from None
