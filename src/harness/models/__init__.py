"""The models: name -> (Config dataclass, builder).

Every model maps X [B, L, F] float32 and symbol ids [B] int64 to ``{logits_key(h): [B, 3]}``, one
entry per horizon of the DataSpec. A model's Config holds scalars only (int, float, str, bool), so
a trial's values persist in Optuna as they are and ``dataclasses.asdict(config)`` is a checkpoint's
config. Importing this package is cheap: the forecasting libraries load when a model is built.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from harness.data.spec import DataSpec
from harness.models import nhits, patchtst, tft


@dataclass(frozen=True)
class ModelDef:
    config: type[Any]  # the model's frozen Config dataclass
    build: Callable[[Any, DataSpec], nn.Module]  # build(config, spec) -> module


MODELS: dict[str, ModelDef] = {
    "nhits": ModelDef(config=nhits.Config, build=nhits.build),
    "tft": ModelDef(config=tft.Config, build=tft.build),
    "patchtst": ModelDef(config=patchtst.Config, build=patchtst.build),
}


def _check_type(expected: type, value: Any) -> Any:
    """``value`` as ``expected``, or None when it is not one. bool and int never mix."""
    if isinstance(value, bool):
        return value if expected is bool else None
    if expected is float and isinstance(value, int | float):
        return float(value)
    return value if isinstance(value, expected) else None


@functools.cache
def _hints(config_type: type) -> dict[str, Any]:
    """Field name -> type, in field order (resolving annotations is slow: once per class)."""
    hints = typing.get_type_hints(config_type)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_type)}


def model_config(name: str, values: Mapping[str, Any]) -> Any:
    """The Config of model ``name``: its defaults, overridden by ``values``.

    Raises ValueError naming every unknown key and every value of the wrong type; an int is
    accepted where a float is expected (and converted), a bool never stands for an int.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    config_type = MODELS[name].config
    types = _hints(config_type)
    fields = list(types)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"{name} config: unknown keys {unknown}; known: {fields}")
    checked, wrong = {}, []
    for key, value in values.items():
        expected = types[key]
        ok = _check_type(expected, value)
        if ok is None:
            wrong.append(f"{key} must be {expected.__name__}, got {type(value).__name__} {value!r}")
        checked[key] = ok
    if wrong:
        raise ValueError(f"{name} config: " + "; ".join(wrong))
    return config_type(**checked)


__all__ = ["MODELS", "ModelDef", "model_config"]
