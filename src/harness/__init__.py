"""Phase 2 search harness: tune N-HiTS, TFT and PatchTST multi-horizon classifiers with Optuna."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.modelfile import Predictor, load_predictor

__version__ = "0.2.0"

FORMAT_VERSION = 5
"""The format of what the harness stores and exports (study attributes, trial configs,
checkpoints, metrics.json). Raised whenever their meaning changes; a study of another format is
refused rather than mixed. 2: the budget (epochs, patience) left the trial config. 3: the score's
Sharpe term is the probabilistic Sharpe ratio by default; Sharpe ratios are annualized per symbol
with bars per year from the train and val timestamps only; complete trials store their val
predictions; metrics.json gives bars_per_year per symbol, calibration, selection and
overfitting.
4: a study records its profile (attribute `profile`, part of the default name
`{model}-{profile}-{data}`).
5: a complete trial keeps its best epoch's metrics as flat attributes, one number each
(`val_macro_f1_h{h}`, ...: harness.storage.attrs) in place of the nested `val_metrics`,
`train_metrics` and `train_val_gap`, which optuna-dashboard cut at 1,024 characters; the full
metrics of every epoch are its `epoch_log` artifact."""

DEFAULT_STORAGE = "sqlite:///studies/harness.db"
"""Where studies live unless --storage says otherwise (one machine; postgresql://... to share)."""

MODEL_NAMES = ("nhits", "tft", "patchtst")
"""The models, in report order; ``harness.models.MODELS`` builds them. Kept here, where the
command line reads it without importing torch."""

__all__ = ["DEFAULT_STORAGE", "FORMAT_VERSION", "MODEL_NAMES", "Predictor", "load_predictor"]


def __getattr__(name: str) -> Any:
    # Imported on first use: `import harness` and `harness --help` must not wait for torch.
    if name in ("Predictor", "load_predictor"):
        from harness import modelfile

        return getattr(modelfile, name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
