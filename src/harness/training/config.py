"""What a run trains with: the model's Config plus TrainConfig, one flat mapping of scalars.

The flat form is what search spaces fix or sample, what a trial stores, and what an exported model
carries, so finalize rebuilds exactly what a trial ran.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.models import MODELS, model_config
from harness.typed import build_config

OPTIMIZERS = ("adam", "adamw")
SCHEDULERS = ("plateau", "cosine", "none")
CLASS_WEIGHTS = ("none", "balanced")
PRECISIONS = ("32-true", "bf16-mixed")
WINDOW_ENDS = ("inclusive", "exclusive")


class ConfigError(HarnessError):
    """A run configuration with an unknown key, a wrong type or a value out of range."""


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained. Defaults are the seed's N-HiTS/TFT recipe; search spaces override."""

    learning_rate: float = 1.0e-3
    batch_size: int = 64
    optimizer: str = "adam"  # adam | adamw
    weight_decay: float = 0.0
    scheduler: str = "plateau"  # plateau (on val loss, the seed's) | cosine | none
    max_epochs: int = 100
    patience: int = 10  # epochs without a better val score before stopping
    grad_clip: float = 1.0  # max gradient norm; 0 disables
    class_weights: str = "none"  # none | balanced (inverse train frequency per horizon)
    alpha_short: float = 1.0  # loss weight of the shortest horizon (the seed's alpha_1)
    alpha_mid: float = 1.0  # of the middle horizons (alpha_5)
    alpha_long: float = 1.0  # of the longest horizon (alpha_20)
    precision: str = "32-true"  # 32-true | bf16-mixed
    window_end: str = "inclusive"  # inclusive: rows i-L+1..i | exclusive: rows i-L..i-1

    def __post_init__(self) -> None:
        for name, allowed in (
            ("optimizer", OPTIMIZERS),
            ("scheduler", SCHEDULERS),
            ("class_weights", CLASS_WEIGHTS),
            ("precision", PRECISIONS),
            ("window_end", WINDOW_ENDS),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("learning_rate", "batch_size", "max_epochs", "patience"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("weight_decay", "grad_clip", "alpha_short", "alpha_mid", "alpha_long"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    def alphas(self, horizons: tuple[int, ...]) -> list[float]:
        """Loss weight per horizon: shortest, middle ones, longest."""
        return [
            self.alpha_short
            if k == 0
            else self.alpha_long
            if k == len(horizons) - 1
            else self.alpha_mid
            for k in range(len(horizons))
        ]


@dataclass(frozen=True)
class RunConfig:
    model: str
    net: Any  # the model's Config
    train: TrainConfig

    @property
    def seq_len(self) -> int:
        return int(self.net.seq_len)

    def to_flat(self) -> dict[str, Any]:
        return {
            "model": self.model,
            **dataclasses.asdict(self.net),
            **dataclasses.asdict(self.train),
        }

    @classmethod
    def from_flat(cls, values: Mapping[str, Any], *, where: str = "config") -> RunConfig:
        """Split a flat mapping (with a "model" key) into model and training settings.

        Unknown keys, wrong types and bad values raise ConfigError naming `where` and the key.
        """
        values = dict(values)
        name = values.pop("model", None)
        if name not in MODELS:
            raise ConfigError(
                f"{where}: unknown model {name!r}; known: {', '.join(sorted(MODELS))}"
            )
        train_keys = {f.name for f in dataclasses.fields(TrainConfig)}
        net_values = {k: v for k, v in values.items() if k not in train_keys}
        train_values = {k: v for k, v in values.items() if k in train_keys}
        try:
            net = model_config(name, net_values)
            train = build_config(TrainConfig, train_values, what="training config")
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        return cls(model=name, net=net, train=train)


def config_keys(model: str) -> set[str]:
    """Every key a flat config of `model` may hold."""
    return {f.name for f in dataclasses.fields(MODELS[model].config)} | {
        f.name for f in dataclasses.fields(TrainConfig)
    }


@dataclass(frozen=True)
class ScoreConfig:
    """How the per-epoch validation metrics become the one score (objective YAML `score:`)."""

    sharpe_weight: float = 0.5
    f1_weight: float = 1.0
    horizons: tuple[int, ...] | None = None  # None: every horizon of the data
    reduce: str = "mean"  # mean | min | max over the horizons
    cost_bps: float = 1.0  # per side, in the backtest

    def __post_init__(self) -> None:
        if self.reduce not in ("mean", "min", "max"):
            raise ValueError(f"reduce must be mean, min or max, got {self.reduce!r}")
        if self.cost_bps < 0:
            raise ValueError(f"cost_bps must be >= 0, got {self.cost_bps}")
