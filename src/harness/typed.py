"""Building a frozen config dataclass from loose values, with the checks YAML input needs."""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

C = TypeVar("C")


def _as(expected: type, value: Any) -> Any:
    """``value`` as ``expected``, or None when it is not one. bool and int never mix."""
    if isinstance(value, bool):
        return value if expected is bool else None
    if expected is float and isinstance(value, int | float):
        return float(value)
    return value if isinstance(value, expected) else None


@functools.cache
def field_types(config_type: type) -> dict[str, Any]:
    """Field name -> type, in field order (resolving annotations is slow: once per class)."""
    hints = typing.get_type_hints(config_type)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_type)}


def build_config(config_type: type[C], values: Mapping[str, Any], *, what: str) -> C:
    """`config_type` from its defaults and `values`.

    Raises ValueError naming every unknown key and every value of the wrong type; an int is
    accepted where a float is expected (and converted), a bool never stands for an int. The
    dataclass's own checks (ranges, choices) raise ValueError too.
    """
    types = field_types(config_type)
    unknown = sorted(set(values) - set(types))
    if unknown:
        raise ValueError(f"{what}: unknown keys {unknown}; known: {list(types)}")
    checked, wrong = {}, []
    for key, value in values.items():
        expected = types[key]
        checked[key] = _as(expected, value)
        if checked[key] is None:
            wrong.append(f"{key} must be {expected.__name__}, got {type(value).__name__} {value!r}")
    if wrong:
        raise ValueError(f"{what}: " + "; ".join(wrong))
    return config_type(**checked)
