"""Phase 2 search harness: tune N-HiTS, TFT and PatchTST multi-horizon classifiers with Optuna."""

__version__ = "0.1.0"
