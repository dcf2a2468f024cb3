"""Temporal Fusion Transformer encoder with multi-horizon classification heads.

Lim, Arık, Loeff, Pfister (2021). "Temporal Fusion Transformers for Interpretable Multi-horizon
Time Series Forecasting". International Journal of Forecasting 37(4).
https://arxiv.org/abs/1912.09363

Built from pytorch-forecasting's sub-modules, in the order of its ``TemporalFusionTransformer``:
the symbol is the one static covariate; its embedding feeds four static context GRNs (variable
selection context, LSTM initial hidden and cell state, static enrichment). Each time step's F
features go through variable selection, then an LSTM encoder, a gated skip, static enrichment,
interpretable multi-head attention, a position-wise GRN and a gated skip to the LSTM output.

There is no decoder: the labels of a row are its targets, so only the last step is read out. The
attention query is that step alone (keys and values are every step of the window), which needs no
causal mask and costs O(L) rather than O(L^2).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from harness.data.spec import DataSpec
from harness.models._common import (
    MultiHorizonHead,
    SymbolScaler,
    check_at_least,
    check_divides,
    check_dropout,
)


@dataclass(frozen=True)
class Config:
    """TFT settings. Defaults are the seed's configuration."""

    seq_len: int = 128  # window length L (the seed's max_encoder_length)
    hidden_size: int = 128  # LSTM, GRN and attention width
    lstm_layers: int = 2
    n_heads: int = 8  # attention heads (the seed's attention_head_size); must divide hidden_size
    dropout: float = 0.1
    hidden_continuous_size: int = 32  # width each feature is scaled up to before selection
    # not the seed's: each symbol standardized on its own train rows (SymbolScaler; README)
    symbol_scaling: bool = True

    def __post_init__(self) -> None:
        check_at_least(self, 1, "seq_len", "hidden_size", "lstm_layers", "n_heads")
        check_at_least(self, 1, "hidden_continuous_size")
        check_dropout(self)
        # InterpretableMultiHeadAttention silently floors hidden_size / n_heads.
        check_divides(self, "n_heads", "hidden_size")


class TFTClassifier(nn.Module):
    """X [B, L, F] and symbol [B] -> {logits_h: [B, 3]}; ``interpret`` exposes the weights."""

    def __init__(self, config: Config, spec: DataSpec) -> None:
        super().__init__()
        # Imported here, not at the top: pytorch-forecasting's package import pulls in Lightning,
        # pandas and scikit-learn (about 10 s), which nothing needs until a model is built.
        from pytorch_forecasting.models.temporal_fusion_transformer.sub_modules import (
            AddNorm,
            GateAddNorm,
            GatedLinearUnit,
            GatedResidualNetwork,
            InterpretableMultiHeadAttention,
            VariableSelectionNetwork,
        )

        hidden, dropout = config.hidden_size, config.dropout
        self.lstm_layers = config.lstm_layers
        # Positional names, so the state_dict does not depend on feature names (and a "." in a
        # name cannot break the ModuleDict); the export stores the names beside the weights.
        self.variables = tuple(f"x{i}" for i in range(spec.n_features))

        self.symbol_embedding = nn.Embedding(spec.n_symbols, hidden)
        self.symbol_scaler = (
            SymbolScaler(spec.n_symbols, spec.n_features) if config.symbol_scaling else None
        )

        def static_context() -> nn.Module:
            return GatedResidualNetwork(hidden, hidden, hidden, dropout)

        self.static_context_selection = static_context()
        self.static_context_hidden = static_context()
        self.static_context_cell = static_context()
        self.static_context_enrichment = static_context()

        self.variable_selection = VariableSelectionNetwork(
            input_sizes=dict.fromkeys(self.variables, config.hidden_continuous_size),
            hidden_size=hidden,
            dropout=dropout,
            context_size=hidden,
        )
        self.lstm = nn.LSTM(
            hidden,
            hidden,
            num_layers=config.lstm_layers,
            dropout=dropout if config.lstm_layers > 1 else 0.0,
            batch_first=True,
        )
        self.post_lstm_gate = GatedLinearUnit(hidden, dropout=dropout)
        self.post_lstm_norm = AddNorm(hidden, trainable_add=False)
        self.static_enrichment = GatedResidualNetwork(
            hidden, hidden, hidden, dropout, context_size=hidden
        )
        self.attention = InterpretableMultiHeadAttention(
            n_head=config.n_heads, d_model=hidden, dropout=dropout
        )
        self.post_attention_gate_norm = GateAddNorm(hidden, dropout=dropout, trainable_add=False)
        self.position_wise_ff = GatedResidualNetwork(hidden, hidden, hidden, dropout)
        self.pre_output_gate_norm = GateAddNorm(hidden, dropout=None, trainable_add=False)
        self.head = MultiHorizonHead(hidden, spec.horizons)

    def _encode(self, x: Tensor, symbol: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Last step's representation [B, hidden], selection weights [B, L, F], attention [B, L]."""
        batch, steps, _ = x.shape
        if self.symbol_scaler is not None:
            x = self.symbol_scaler(x, symbol)
        static = self.symbol_embedding(symbol)  # [B, hidden]
        hidden = static.shape[-1]

        def over_time(context: Tensor) -> Tensor:
            return context[:, None].expand(batch, steps, hidden)  # [B, hidden] -> [B, L, hidden]

        inputs = {name: x[..., i : i + 1] for i, name in enumerate(self.variables)}  # [B, L, 1]
        selected, weights = self.variable_selection(
            inputs, over_time(self.static_context_selection(static))
        )  # [B, L, hidden], [B, L, 1, F]

        def initial_state(context: Tensor) -> Tensor:
            # [B, hidden] -> [layers, B, hidden]: every layer starts from the static context
            return context[None].expand(self.lstm_layers, -1, -1).contiguous()

        state = (
            initial_state(self.static_context_hidden(static)),
            initial_state(self.static_context_cell(static)),
        )
        lstm_out, _ = self.lstm(selected, state)  # [B, L, hidden]
        temporal = self.post_lstm_norm(self.post_lstm_gate(lstm_out), selected)  # [B, L, hidden]
        enriched = self.static_enrichment(
            temporal, over_time(self.static_context_enrichment(static))
        )  # [B, L, hidden]

        query = enriched[:, -1:]  # [B, 1, hidden]
        attended, attention = self.attention(query, enriched, enriched)
        # attended [B, 1, hidden]; attention [B, 1, n_heads, L]
        out = self.post_attention_gate_norm(attended, query)  # [B, 1, hidden]
        out = self.position_wise_ff(out)  # [B, 1, hidden]
        out = self.pre_output_gate_norm(out, temporal[:, -1:])  # [B, 1, hidden]
        return out[:, 0], weights[:, :, 0, :], attention[:, 0].mean(dim=1)

    def forward(self, x: Tensor, symbol: Tensor) -> dict[str, Tensor]:
        out, _, _ = self._encode(x, symbol)  # [B, hidden]
        return self.head(out)

    @torch.no_grad()
    def interpret(self, x: Tensor, symbol: Tensor) -> dict[str, Tensor]:
        """Variable selection weights averaged over time, and the last step's attention.

        ``feature_importance`` [B, F] (rows sum to 1, columns in the spec's feature order);
        ``attention`` [B, L] (the last step over the window, averaged over heads; rows sum to 1).
        Call it in eval mode: dropout would otherwise perturb the weights.
        """
        _, weights, attention = self._encode(x, symbol)
        return {"feature_importance": weights.mean(dim=1), "attention": attention}


def build(config: Config, spec: DataSpec) -> TFTClassifier:
    return TFTClassifier(config, spec)
