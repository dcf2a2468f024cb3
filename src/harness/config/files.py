"""The project's YAML files: where they are, and how one is read into a typed object."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import HarnessError

T = TypeVar("T", bound=BaseModel)


class SpaceError(HarnessError):
    """A search space or objective file that cannot be used; the message names file and key."""


def project_file(folder: str, model: str, given: Path | None = None) -> Path:
    """A YAML of the project: the one given, else ./folder/model.yaml, else the checkout's
    folder/model.yaml when running from a source tree (an editable install), else the copy
    installed inside the package (a wheel ships the folders as harness/_yaml/folder/). A
    `given` bare name that is no file (``--objective pareto``) is looked up the same way."""
    if given is not None and given.name == str(given) and not given.suffix and not given.exists():
        return project_file(folder, str(given))
    if given is not None:
        if given.is_dir():
            raise SpaceError(f"{given}: is a folder; give the YAML file, e.g. {given / model}.yaml")
        return given
    name = f"{model}.yaml"
    here = Path(folder) / name
    if here.is_file():
        return here
    # src/harness/config/files.py in a checkout; site-packages/harness/config/files.py installed
    source = Path(__file__).resolve().parents[2]
    if source.name == "src" and (source.parent / "pyproject.toml").is_file():
        return source.parent / folder / name
    packaged = resources.files("harness") / "_yaml" / folder / name
    # a Path wherever the package is installed as files (pip always unpacks a wheel)
    return packaged if isinstance(packaged, Path) else Path(str(packaged))


def read_text(path: Path) -> str:
    """A YAML file's text; a missing file or a byte that is not UTF-8 is a SpaceError."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SpaceError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise SpaceError(
            f"{path}: byte 0x{exc.object[exc.start]:02x} at offset {exc.start} is not UTF-8; "
            "save the file as UTF-8"
        ) from None


def parse_yaml(path: Path, schema: type[T]) -> T:
    """Read a YAML file into `schema`; any problem is a SpaceError naming the file and key."""
    return parse_text(read_text(path), schema, source=str(path))


def parse_text(text: str, schema: type[T], *, source: str) -> T:
    """YAML text into `schema`; any problem is a SpaceError naming `source` and the key."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpaceError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SpaceError(f"{source}: expected a mapping at the top, found {type(raw).__name__}")
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
        raise SpaceError(f"{source}: " + "; ".join(problems)) from None


def parse_overrides(items: Sequence[str]) -> dict[str, object]:
    """`--set KEY=VALUE` items as a mapping, each value read as YAML reads it (and `1e-4`, which
    PyYAML reads as a string, as a number)."""
    values = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise HarnessError(f"--set {item!r}: expected KEY=VALUE")
        value = yaml.safe_load(text)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)
        values[key.strip()] = value
    return values
