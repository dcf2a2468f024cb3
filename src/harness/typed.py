"""Typed configs from loose values: the checks YAML and `--set` input need, in one place.

- ``build_config``: a frozen config dataclass from a mapping (unknown keys, wrong types and values
  outside a ``Literal`` are refused, naming each).
- ``Strict``: the pydantic base of every YAML section (unknown keys and wrong types refused).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

C = TypeVar("C")


class Strict(BaseModel):
    """A YAML section: unknown keys and wrong types are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _as(expected: Any, value: Any) -> tuple[bool, Any]:
    """(ok, ``value`` as ``expected``). bool and int never mix; an int is a float."""
    if typing.get_origin(expected) is Literal:
        return value in typing.get_args(expected) and not isinstance(value, bool), value
    if isinstance(value, bool):
        return expected is bool, value
    if expected is float and isinstance(value, int | float):
        return True, float(value)
    return isinstance(value, expected), value


def _type_name(expected: Any) -> str:
    if typing.get_origin(expected) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(expected))
    return str(expected.__name__)


def check_literals(config: Any) -> None:
    """Raise ValueError for a field of a config dataclass whose value is outside its Literal."""
    for name, expected in field_types(type(config)).items():
        value = getattr(config, name)
        if typing.get_origin(expected) is Literal and not _as(expected, value)[0]:
            raise ValueError(f"{name} must be {_type_name(expected)}, got {value!r}")


_FIELD_TYPES: dict[type, dict[str, Any]] = {}


def field_types(config_type: type) -> dict[str, Any]:
    """Field name -> type, in field order (resolving annotations is slow: once per class)."""
    # A dict, not functools.cache: mypy takes type[C] for unhashable there (python/mypy#11470).
    if config_type not in _FIELD_TYPES:
        hints = typing.get_type_hints(config_type)
        _FIELD_TYPES[config_type] = {f.name: hints[f.name] for f in dataclasses.fields(config_type)}
    return _FIELD_TYPES[config_type]


def build_config(config_type: type[C], values: Mapping[str, Any], *, what: str) -> C:
    """`config_type` from its defaults and `values`.

    Raises ValueError naming every unknown key and every value of the wrong type or outside its
    ``Literal``; an int is accepted where a float is expected (and converted), a bool never
    stands for an int. The dataclass's own checks (ranges) raise ValueError too.
    """
    types = field_types(config_type)
    unknown = sorted(set(values) - set(types))
    if unknown:
        raise ValueError(f"{what}: unknown keys {unknown}; known: {list(types)}")
    checked, wrong = {}, []
    for key, value in values.items():
        ok, checked[key] = _as(types[key], value)
        if not ok:
            wrong.append(
                f"{key} must be {_type_name(types[key])}, got {type(value).__name__} {value!r}"
            )
    if wrong:
        raise ValueError(f"{what}: " + "; ".join(wrong))
    return config_type(**checked)
