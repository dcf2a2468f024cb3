"""N-HiTS encoder with multi-horizon classification heads.

Challu, Olivares, Oreshkin, Garza, Mergenthaler-Canseco, Dubrawski (2023). "N-HiTS: Neural
Hierarchical Interpolation for Time Series Forecasting". AAAI 2023. https://arxiv.org/abs/2201.12886

What the "series" is. N-HiTS forecasts one target series from its own past (``insample_y``) plus
exogenous inputs. Our windows have F features and no target, so:

- the series is a learned scalar projection of the F features (``Linear(F, 1)``), and the F
  features themselves enter every block as historic exogenous inputs, pooled at the block's rate;
- each block backcasts the series (doubly residual: the next block sees what is left) and forecasts
  a latent trajectory of ``latent_size`` steps x ``latent_channels`` channels, from
  ``latent_size // downsample`` knots interpolated up (hierarchical interpolation);
- the sum of the block forecasts, flattened, is the representation the heads classify.

The blocks are neuralforecast's ``NHITSBlock`` and ``_IdentityBasis``; the forecast starts at zero
rather than at neuralforecast's naive level, which has no meaning for a latent.
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
    check_dropout,
    check_seq_len,
)

# Pooling presets: (input pooling kernel per stack, forecast downsampling per stack). One name per
# list so that Optuna's categorical choices stay scalars. The number of stacks is the list length.
POOLING_PRESETS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "seed": ((2, 2, 1), (4, 2, 1)),  # the seed's n_pool_kernel_size / n_freq_downsample
    "fine": ((2, 1, 1), (2, 1, 1)),  # little pooling: keeps bar-level detail
    "coarse": ((8, 4, 1), (10, 4, 1)),  # long-memory stacks first
    "deep": ((16, 8, 4, 1), (10, 5, 2, 1)),  # four stacks, coarse to fine
}

_POOLING_MODES = {"max": "MaxPool1d", "avg": "AvgPool1d"}
_INTERPOLATIONS = ("linear", "nearest")  # neuralforecast's cubic mode needs one latent channel
_ACTIVATIONS = ("ReLU", "Softplus", "Tanh", "SELU", "LeakyReLU", "PReLU", "Sigmoid")


@dataclass(frozen=True)
class Config:
    """N-HiTS settings. Defaults are the seed's configuration."""

    seq_len: int = 128  # window length L (the seed's input_size)
    pooling: str = "seed"  # a POOLING_PRESETS key: kernels [2,2,1], downsampling [4,2,1]
    n_blocks: int = 1  # blocks per stack
    mlp_units: int = 512  # width of each block's MLP layers
    mlp_layers: int = 2  # [units, units] layers per block (neuralforecast's len(mlp_units))
    latent_size: int = 20  # steps of the latent forecast (the seed's output_size)
    latent_channels: int = 8  # channels of the latent forecast; head input = size * channels
    pooling_mode: str = "max"  # "max" | "avg"
    interpolation: str = "linear"  # "linear" | "nearest"
    activation: str = "ReLU"  # inside the blocks; one of neuralforecast's N-HiTS activations
    dropout: float = 0.2  # in the blocks' MLPs and in the head
    batch_norm: bool = True  # BatchNorm1d in the shared head MLP, if any (NHITSBlock has none)
    head_hidden: int = 256  # width of the shared head MLP (the seed's H_mid); 0: none
    # not the seed's: each symbol standardized on its own train rows (SymbolScaler; README)
    symbol_scaling: bool = True

    def __post_init__(self) -> None:
        check_at_least(self, 1, "seq_len", "n_blocks", "mlp_units", "mlp_layers")
        check_at_least(self, 1, "latent_size", "latent_channels")
        check_at_least(self, 0, "head_hidden")  # 0: one linear layer per horizon
        check_choice(self, "pooling", POOLING_PRESETS)
        check_choice(self, "pooling_mode", _POOLING_MODES)
        check_choice(self, "interpolation", _INTERPOLATIONS)
        check_choice(self, "activation", _ACTIVATIONS)
        check_dropout(self)
        largest_kernel = max(POOLING_PRESETS[self.pooling][0])
        if largest_kernel > self.seq_len:
            raise ValueError(
                f"nhits config: pooling {self.pooling!r} has a kernel of {largest_kernel}, "
                f"longer than seq_len {self.seq_len}"
            )


class NHiTSClassifier(nn.Module):
    """X [B, L, F] -> {logits_h: [B, 3]}. The symbol is not used."""

    def __init__(self, config: Config, spec: DataSpec) -> None:
        super().__init__()
        # Imported here, not at the top: neuralforecast's package import pulls in Lightning and
        # pandas (about 10 s), which nothing needs until a model is built.
        from neuralforecast.models.nhits import NHITSBlock, _IdentityBasis

        self.seq_len = config.seq_len
        self.latent_shape = (config.latent_size, config.latent_channels)
        kernels, downsampling = POOLING_PRESETS[config.pooling]
        mlp_units = [[config.mlp_units, config.mlp_units]] * config.mlp_layers

        self.symbol_scaler = (
            SymbolScaler(spec.n_symbols, spec.n_features) if config.symbol_scaling else None
        )
        self.series = nn.Linear(spec.n_features, 1)
        blocks = []
        for kernel, downsample in zip(kernels, downsampling, strict=True):
            n_knots = max(config.latent_size // downsample, 1)
            for _ in range(config.n_blocks):
                basis = _IdentityBasis(
                    backcast_size=config.seq_len,
                    forecast_size=config.latent_size,
                    interpolation_mode=config.interpolation,
                    out_features=config.latent_channels,
                )
                blocks.append(
                    NHITSBlock(
                        input_size=config.seq_len,
                        h=config.latent_size,
                        # theta = [backcast (L) | knots (channels x n_knots)]
                        n_theta=config.seq_len + config.latent_channels * n_knots,
                        mlp_units=mlp_units,
                        basis=basis,
                        futr_input_size=0,
                        hist_input_size=spec.n_features,
                        stat_input_size=0,
                        n_pool_kernel_size=kernel,
                        pooling_mode=_POOLING_MODES[config.pooling_mode],
                        dropout_prob=config.dropout,
                        activation=config.activation,
                    )
                )
        self.blocks = nn.ModuleList(blocks)
        self.head = MultiHorizonHead(
            config.latent_size * config.latent_channels,
            spec.horizons,
            hidden=config.head_hidden,
            dropout=config.dropout,
            batch_norm=config.batch_norm,
        )

    def forward(self, x: Tensor, symbol: Tensor | None = None) -> dict[str, Tensor]:
        check_seq_len(x, self.seq_len)
        if self.symbol_scaler is not None:
            x = self.symbol_scaler(x, symbol)
        # Most recent step first, as neuralforecast orders the backcast; the features are flipped
        # too so that both are pooled over the same windows (ceil_mode leaves the oldest one short).
        x = x.flip(1)  # [B, L, F]
        residual = self.series(x).squeeze(-1)  # [B, L, 1] -> [B, L]
        forecast = x.new_zeros(x.shape[0], *self.latent_shape)  # [B, H, C]
        for block in self.blocks:
            backcast, block_forecast = block(
                insample_y=residual, futr_exog=None, hist_exog=x, stat_exog=None
            )  # [B, L], [B, H, C]
            residual = residual - backcast
            forecast = forecast + block_forecast
        return self.head(forecast.flatten(1))  # [B, H, C] -> [B, H * C]


def build(config: Config, spec: DataSpec) -> NHiTSClassifier:
    return NHiTSClassifier(config, spec)
