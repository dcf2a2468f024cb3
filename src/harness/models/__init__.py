"""The models: name -> (Config dataclass, builder).

Every model maps X [B, L, F] float32 and symbol ids [B] int64 to ``{logits_key(h): [B, 3]}``, one
entry per horizon of the DataSpec. A model's Config holds scalars only (int, float, str, bool), so
a trial's values persist in Optuna as they are and ``dataclasses.asdict(config)`` is a checkpoint's
config. Importing this package is cheap: the forecasting libraries load when a model is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from harness.data.spec import DataSpec
from harness.models import nhits, patchtst, tft
from harness.models._common import SymbolScaler
from harness.typed import build_config


@dataclass(frozen=True)
class ModelDef:
    config: type[Any]  # the model's frozen Config dataclass
    build: Callable[[Any, DataSpec], nn.Module]  # build(config, spec) -> module
    # Whether the output always depends on the symbol id (TFT's static covariate). A model that
    # ignores it also takes None, so it can predict symbols it never saw; one that reads it only
    # knows its training symbols.
    uses_symbol: bool = False

    def reads_symbol(self, config: Any) -> bool:
        """Whether a model of `config` reads the symbol id: always, or for its SymbolScaler."""
        return self.uses_symbol or bool(config.symbol_scaling)


MODELS: dict[str, ModelDef] = {
    "nhits": ModelDef(config=nhits.Config, build=nhits.build),
    "tft": ModelDef(config=tft.Config, build=tft.build, uses_symbol=True),
    "patchtst": ModelDef(config=patchtst.Config, build=patchtst.build),
}


def model_config(name: str, values: Mapping[str, Any]) -> Any:
    """The Config of model ``name``: its defaults, overridden by ``values``.

    Raises ValueError naming every unknown key and every value of the wrong type; an int is
    accepted where a float is expected (and converted), a bool never stands for an int.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    return build_config(MODELS[name].config, values, what=f"{name} config")


__all__ = ["MODELS", "ModelDef", "SymbolScaler", "model_config"]
