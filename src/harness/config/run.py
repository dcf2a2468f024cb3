"""What a run trains with and how it is judged and bounded.

- ``RunConfig``: the model's Config plus ``TrainConfig``, one flat mapping of scalars. The flat
  form is what search spaces fix or sample, what a trial stores, and what an exported model
  carries, so finalize rebuilds exactly what a trial ran.
- ``ScoreConfig``: how the per-epoch validation metrics become the one score.
- ``Budget`` and ``Caps``: how long a run trains; the command line's caps only ever lower it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator

from harness.data import WindowEnd
from harness.errors import HarnessError
from harness.metrics import Reduce, SharpeTerm
from harness.models import MODELS, model_config
from harness.typed import Strict, build_config, check_literals

Optimizer = Literal["adam", "adamw"]
Scheduler = Literal["plateau", "cosine", "none"]
ClassWeights = Literal["none", "balanced"]
Precision = Literal["32-true", "bf16-mixed"]


class ConfigError(HarnessError):
    """A run configuration with an unknown key, a wrong type or a value out of range."""


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained. Defaults are the seed's N-HiTS/TFT recipe; search spaces override."""

    learning_rate: float = 1.0e-3
    batch_size: int = 64
    optimizer: Optimizer = "adam"
    weight_decay: float = 0.0
    scheduler: Scheduler = "plateau"  # plateau (on val loss, the seed's) | cosine | none
    grad_clip: float = 1.0  # max gradient norm; 0 disables
    warmup_batches: int = 0  # the learning rate rises linearly over the first N batches; 0: none
    class_weights: ClassWeights = "none"  # none | balanced (inverse train frequency per horizon)
    alpha_short: float = 1.0  # loss weight of the shortest horizon (the seed's alpha_1)
    alpha_mid: float = 1.0  # of the middle horizons (alpha_5)
    alpha_long: float = 1.0  # of the longest horizon (alpha_20)
    precision: Precision = "32-true"
    window_end: WindowEnd = "inclusive"  # inclusive: rows i-L+1..i | exclusive: rows i-L..i-1

    def __post_init__(self) -> None:
        check_literals(self)
        for name in ("learning_rate", "batch_size"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        nonnegative = ("weight_decay", "grad_clip", "warmup_batches")
        for name in (*nonnegative, "alpha_short", "alpha_mid", "alpha_long"):
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


class ScoreConfig(Strict):
    """How the per-epoch validation metrics become the one score (objective YAML `score:`).

    Per horizon ``sharpe_weight * S + f1_weight * val macro-F1``, reduced over `horizons`.
    S is the `sharpe_term` (``metrics.combine_score``): ``"timing"`` (the default), the
    probabilistic Sharpe ratio of the timing returns (position x bar return in excess of the
    symbol's mean over val), in [0, 1] on macro-F1's scale, free of the bar length, and 0.5 for
    any constant position, so the validation period's drift pays nothing; ``"psr"``, the same
    probability of the strategy's own returns, which pays an always-long rule in a rising
    market; or ``"annualized"``, the annualized Sharpe ratio, which grows with sqrt(bars per
    year) and needs a weight sized for each bar length.
    """

    # 0.1: surely good timing (1) over surely bad timing (0) is worth 0.1 of macro-F1
    sharpe_weight: float = 0.1
    f1_weight: float = 1.0
    sharpe_term: SharpeTerm = "timing"
    horizons: tuple[int, ...] | None = Field(default=None, strict=False)  # None: the data's
    reduce: Reduce = "mean"  # over the horizons
    cost_bps: float = Field(default=1.0, ge=0)  # per side, in the backtest

    @field_validator("horizons")
    @classmethod
    def _some(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None and not value:
            raise ValueError("name at least one horizon, or leave the key out for all of them")
        return value


class Budget(Strict):
    """How long one configuration trains (objective YAML `budget:`)."""

    max_epochs: int = Field(default=30, ge=1)
    patience: int = Field(default=5, ge=1)  # epochs without a better score before stopping
    batches_per_epoch: int | None = Field(default=None, ge=1)  # None: every train window
    eval_batches: int | None = Field(default=None, ge=1)  # per evaluation; None: every row
    train_eval_rows: int | None = Field(default=8192, ge=1)  # recent train rows scored per epoch

    def capped(self, caps: Caps) -> Budget:
        """The budget under the command line's caps: each limit is the smaller of the two."""
        return self.model_copy(
            update={
                "max_epochs": _smaller(caps.epochs, self.max_epochs),
                "batches_per_epoch": _smaller(caps.max_batches, self.batches_per_epoch),
                "eval_batches": _smaller(caps.max_batches, self.eval_batches),
            }
        )


@dataclass(frozen=True)
class Caps:
    """Smoke-run limits from the command line (`--epochs`, `--max-batches`): they cap epochs,
    batches per epoch and batches per evaluation, and are part of what a study optimizes."""

    epochs: int | None = None
    max_batches: int | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "max_batches"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise HarnessError(f"--{name.replace('_', '-')} must be >= 1, got {value}")


def _smaller(cap: int | None, limit: Any) -> Any:
    return limit if cap is None else cap if limit is None else min(cap, limit)
