"""Parts every model shares: the per-symbol scaler, the multi-horizon head, the Config checks."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from harness.data.spec import N_CLASSES, logits_key


class SymbolScaler(nn.Module):
    """Standardizes each symbol's features again with that symbol's own train mean and std.

    The data scaler is one for all symbols (Phase 3 reads it as one StandardScaler). A feature
    alike in kind but not in scale across symbols, a return over an hour and over a day, then
    sits in a sliver of its range for the quieter symbol; this puts every symbol on one scale,
    inside the model, so the exported weights carry it. Mean and std are buffers, identity until
    ``fit`` sets them from the train rows.
    """

    mean: Tensor  # [S, F]
    std: Tensor  # [S, F]

    def __init__(self, n_symbols: int, n_features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_symbols, n_features))
        self.register_buffer("std", torch.ones(n_symbols, n_features))

    @torch.no_grad()
    def fit(self, features: Tensor, symbols: Tensor) -> None:
        """Per-symbol mean and std of `features` [N, F] (rows of symbol ids `symbols` [N])."""
        for s in range(len(self.mean)):
            own = features[symbols == s]
            if len(own) > 1:  # a symbol without train rows keeps the identity
                self.mean[s] = own.mean(0)
                self.std[s] = own.std(0).clamp_min(1e-6)  # a constant feature stays finite

    def forward(self, x: Tensor, symbol: Tensor | None) -> Tensor:
        if symbol is None:
            raise ValueError("symbol_scaling: the model needs each row's symbol id")
        return (x - self.mean[symbol, None]) / self.std[symbol, None]  # [B, L, F]


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
