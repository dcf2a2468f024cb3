"""PatchTST encoder with multi-horizon classification heads.

Nie, Nguyen, Sinthong, Kalagnanam (2023). "A Time Series is Worth 64 Words: Long-term Forecasting
with Transformers". ICLR 2023. https://arxiv.org/abs/2211.14730
RevIN: Kim, Kim, Tae, Park, Choi, Choo (2022). "Reversible Instance Normalization for Accurate
Time-Series Forecasting against Distribution Shift". ICLR 2022.

Each of the F features is one univariate series: RevIN-normalized over the window (normalization
only: there is no forecast to denormalize), cut into patches, embedded and encoded by one shared
transformer (neuralforecast's ``TSTiEncoder``). Channel independence is one batched pass over
B * F series (``TSTiEncoder`` reshapes to [B * F, patches, d_model]); ``benchmarks/models.py`` runs
the same weights one channel at a time, for benchmarks and to test that the two agree.

Each channel's encoded patches are averaged ("mean", the default) or kept in order side by side
("flatten", the paper's head, which sees which patch is the latest); the channels are then
concatenated ("flatten", the default) or averaged ("mean"). Averaging channels is cheaper but
blind to which feature is which, since every channel is encoded by the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from harness.data.spec import DataSpec
from harness.models._common import (
    MultiHorizonHead,
    SymbolScaler,
    check_at_least,
    check_choice,
    check_divides,
    check_dropout,
    check_seq_len,
)

_ACTIVATIONS = ("gelu", "relu")
_NORMS = {"batch": "BatchNorm", "layer": "LayerNorm"}
_POOLS = ("flatten", "mean")


@dataclass(frozen=True)
class Config:
    """PatchTST settings. Defaults are the seed's configuration."""

    seq_len: int = 128  # window length L
    patch_len: int = 16  # must be <= seq_len
    stride: int = 8
    d_model: int = 128
    n_heads: int = 8  # must divide d_model
    n_layers: int = 3
    d_ff: int = 256  # feed-forward width in each encoder layer
    dropout: float = 0.1  # encoder (residual, feed-forward, embedding) and head
    activation: str = "gelu"  # "gelu" | "relu"
    norm: str = "batch"  # encoder norm: "batch" (the paper's) | "layer"
    revin: bool = True  # the seed's use_revin
    revin_affine: bool = False  # learnable per-feature scale and shift after RevIN
    channel_pool: str = "flatten"  # "flatten" | "mean"
    patch_pool: str = "mean"  # "mean" | "flatten" (the paper's head: every patch, in order)
    head_hidden: int = 256  # width of the shared head MLP (the seed's H_mid); 0: none
    symbol_scaling: bool = False  # per-symbol scale (SymbolScaler); RevIN makes it moot

    def __post_init__(self) -> None:
        check_at_least(self, 1, "seq_len", "patch_len", "stride", "d_model", "n_heads")
        check_at_least(self, 1, "n_layers", "d_ff")
        check_at_least(self, 0, "head_hidden")  # 0: one linear layer per horizon
        check_dropout(self)
        check_choice(self, "activation", _ACTIVATIONS)
        check_choice(self, "norm", _NORMS)
        check_choice(self, "channel_pool", _POOLS)
        check_choice(self, "patch_pool", _POOLS)
        check_divides(self, "n_heads", "d_model")
        if self.patch_len > self.seq_len:
            raise ValueError(
                f"patchtst config: patch_len ({self.patch_len}) must be <= seq_len ({self.seq_len})"
            )

    @property
    def n_patches(self) -> int:
        return (self.seq_len - self.patch_len) // self.stride + 1


class PatchTSTClassifier(nn.Module):
    """X [B, L, F] -> {logits_h: [B, 3]}. The symbol is not used."""

    def __init__(self, config: Config, spec: DataSpec) -> None:
        super().__init__()
        # Imported here, not at the top: neuralforecast's package import pulls in Lightning and
        # pandas (about 10 s), which nothing needs until a model is built.
        from neuralforecast.common._modules import RevIN
        from neuralforecast.models.patchtst import TSTiEncoder

        self.seq_len = config.seq_len
        self.patch_len, self.stride = config.patch_len, config.stride
        # Patches end at the last step; when the stride does not fit, the oldest steps are
        # dropped rather than the newest (which matter most for the label).
        covered = (config.n_patches - 1) * config.stride + config.patch_len
        self.skip = config.seq_len - covered
        self.flatten_channels = config.channel_pool == "flatten"
        self.flatten_patches = config.patch_pool == "flatten"

        self.symbol_scaler = (
            SymbolScaler(spec.n_symbols, spec.n_features) if config.symbol_scaling else None
        )
        self.revin = RevIN(spec.n_features, affine=config.revin_affine) if config.revin else None
        self.encoder = TSTiEncoder(
            c_in=spec.n_features,
            patch_num=config.n_patches,
            patch_len=config.patch_len,
            n_layers=config.n_layers,
            hidden_size=config.d_model,
            n_heads=config.n_heads,
            linear_hidden_size=config.d_ff,
            norm=_NORMS[config.norm],
            # Kept at 0: with res_attention=False the library passes attention dropout to
            # scaled_dot_product_attention even in eval mode.
            attn_dropout=0.0,
            dropout=config.dropout,
            act=config.activation,
            res_attention=True,  # the library's and the paper code's default (RealFormer scores)
            pre_norm=False,
            pe="zeros",
            learn_pe=True,
        )
        width = config.d_model * (config.n_patches if self.flatten_patches else 1)
        width *= spec.n_features if self.flatten_channels else 1
        self.head = MultiHorizonHead(
            width, spec.horizons, hidden=config.head_hidden, dropout=config.dropout
        )

    def patches(self, x: Tensor, symbol: Tensor | None = None) -> Tensor:
        """Windows [B, L, F] -> patches [B, F, patch_len, n_patches], TSTiEncoder's layout."""
        check_seq_len(x, self.seq_len)
        if self.symbol_scaler is not None:
            x = self.symbol_scaler(x, symbol)
        x = x[:, self.skip :]  # [B, L', F]
        # RevIN: per window and feature; "norm" only, there is nothing to denormalize
        z = x if self.revin is None else self.revin(x, "norm")  # [B, L', F]
        z = z.permute(0, 2, 1).unfold(-1, self.patch_len, self.stride)  # [B, F, P, patch_len]
        return z.permute(0, 1, 3, 2)  # [B, F, patch_len, P]

    def readout(self, encoded: Tensor) -> dict[str, Tensor]:
        """Encoded patches [B, F, d_model, P] -> logits."""
        # [B, F, d_model * P] (flatten) or [B, F, d_model] (mean)
        pooled = encoded.flatten(2) if self.flatten_patches else encoded.mean(dim=-1)
        # [B, F * width] (flatten) or [B, width] (mean)
        return self.head(pooled.flatten(1) if self.flatten_channels else pooled.mean(dim=1))

    def forward(self, x: Tensor, symbol: Tensor | None = None) -> dict[str, Tensor]:
        # TSTiEncoder runs all channels at once as [B * F, P, d_model].
        return self.readout(self.encoder(self.patches(x, symbol)))  # [B, F, d_model, P] -> logits


def build(config: Config, spec: DataSpec) -> PatchTSTClassifier:
    return PatchTSTClassifier(config, spec)
