"""Phase 2 search harness: tune N-HiTS, TFT and PatchTST multi-horizon classifiers with Optuna."""

__version__ = "0.2.0"

FORMAT_VERSION = 3
"""The format of what the harness stores and exports (study attributes, trial configs,
checkpoints, metrics.json). Raised whenever their meaning changes; a study of another format is
refused rather than mixed. 2: the budget (epochs, patience) left the trial config. 3: a study
records its profile (attribute `profile`, part of the default name `{model}-{profile}-{data}`)."""

DEFAULT_STORAGE = "sqlite:///studies/harness.db"
"""Where studies live unless --storage says otherwise (one machine; postgresql://... to share)."""

MODEL_NAMES = ("nhits", "tft", "patchtst")
"""The models, in report order; ``harness.models.MODELS`` builds them. Kept here, where the
command line reads it without importing torch."""
