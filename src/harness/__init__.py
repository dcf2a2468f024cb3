"""Phase 2 search harness: tune N-HiTS, TFT and PatchTST multi-horizon classifiers with Optuna."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.predict import Predictor, load_predictor

__version__ = "0.1.0"
__all__ = ["Predictor", "load_predictor"]


def __getattr__(name: str) -> Any:
    # Imported on first use: `import harness` and `harness --help` must not wait for torch.
    if name in __all__:
        from harness import predict

        return getattr(predict, name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
