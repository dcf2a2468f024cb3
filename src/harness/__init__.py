"""Phase 2 search harness: tune N-HiTS, TFT and PatchTST multi-horizon classifiers with Optuna."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.modelfile import Predictor, load_predictor

from harness.constants import DEFAULT_STORAGE, FORMAT_VERSION, MODEL_NAMES, __version__

__all__ = [
    "DEFAULT_STORAGE",
    "FORMAT_VERSION",
    "MODEL_NAMES",
    "Predictor",
    "__version__",
    "load_predictor",
]


def __getattr__(name: str) -> Any:
    # Imported on first use: `import harness` and `harness --help` must not wait for torch.
    if name in ("Predictor", "load_predictor"):
        from harness import modelfile

        return getattr(modelfile, name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
