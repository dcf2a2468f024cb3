"""Parts every model shares: the multi-horizon head and the Config checks."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from torch import Tensor, nn

from harness.data.spec import N_CLASSES, logits_key


class MultiHorizonHead(nn.Module):
    """An optional shared MLP trunk, then one linear classifier per horizon.

    The horizons share the trunk because their labels come from the same price path; each keeps
    its own last layer. Output: ``{logits_key(h): [B, N_CLASSES]}``.
    """

    def __init__(
        self,
        in_features: int,
        horizons: Sequence[int],
        *,
        hidden: int = 0,
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        if not horizons:
            raise ValueError("a model needs at least one horizon")
        if hidden > 0:
            # BatchNorm after the activation, not before: right after a Linear it would cancel
            # any shift shared by the batch, leaving that bias (and the bias of whatever linear
            # layer feeds the head, e.g. N-HiTS' last block) without a gradient.
            layers: list[nn.Module] = [nn.Linear(in_features, hidden), nn.ReLU()]
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(nn.Dropout(dropout))
            self.trunk: nn.Module = nn.Sequential(*layers)
            width = hidden
        else:
            self.trunk = nn.Identity()
            width = in_features
        self.heads = nn.ModuleDict({logits_key(h): nn.Linear(width, N_CLASSES) for h in horizons})

    def forward(self, h: Tensor) -> dict[str, Tensor]:
        z = self.trunk(h)  # [B, width]
        return {key: head(z) for key, head in self.heads.items()}  # each [B, N_CLASSES]


def _where(config: Any, field: str) -> str:
    model = type(config).__module__.rsplit(".", 1)[-1]
    return f"{model} config: {field}"


def check_at_least(config: Any, minimum: int, *fields: str) -> None:
    for field in fields:
        value = getattr(config, field)
        if value < minimum:
            raise ValueError(f"{_where(config, field)} must be >= {minimum}, got {value!r}")


def check_dropout(config: Any, field: str = "dropout") -> None:
    value = getattr(config, field)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{_where(config, field)} must be in [0, 1), got {value!r}")


def check_choice(config: Any, field: str, choices: Collection[str]) -> None:
    value = getattr(config, field)
    if value not in choices:
        raise ValueError(f"{_where(config, field)} must be one of {sorted(choices)}, got {value!r}")


def check_divides(config: Any, divisor: str, dividend: str) -> None:
    a, b = getattr(config, divisor), getattr(config, dividend)
    if b % a:
        raise ValueError(f"{_where(config, divisor)} ({a}) must divide {dividend} ({b})")


def check_seq_len(x: Tensor, seq_len: int) -> None:
    """Models whose weights are sized for L reject other window lengths with a clear message."""
    if x.ndim != 3 or x.shape[1] != seq_len:
        raise ValueError(f"expected X [B, L={seq_len}, F], got {tuple(x.shape)}")
