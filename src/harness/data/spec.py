"""What a model needs to know about the data: shapes and names, nothing else."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataSpec:
    """Shape of a prepared dataset, as the model builders see it.

    A batch is X [B, L, F] float32 with L = the config's ``seq_len`` and F = ``n_features``,
    plus the symbol id of each row [B] int64 (0..n_symbols-1, for static covariates).
    """

    feature_names: tuple[str, ...]
    horizons: tuple[int, ...]
    symbols: tuple[str, ...]

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_symbols(self) -> int:
        return len(self.symbols)


N_CLASSES = 3  # class indices: 0 = short (-1), 1 = neutral (0), 2 = long (+1)


def logits_key(horizon: int) -> str:
    """Name of a model output, shared by models, loss, metrics and export."""
    return f"logits_{horizon}"
