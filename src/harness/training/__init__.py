"""Training: one LightningModule for every model, the Trainer set-up, the epoch report."""

from harness.training.config import ConfigError, RunConfig, ScoreConfig, TrainConfig
from harness.training.fit import FitResult, device_for_training, fit, predict_proba, seed_for
from harness.training.module import DivergedError, Phase2Module, weighted_loss

__all__ = [
    "ConfigError",
    "DivergedError",
    "FitResult",
    "Phase2Module",
    "RunConfig",
    "ScoreConfig",
    "TrainConfig",
    "device_for_training",
    "fit",
    "predict_proba",
    "seed_for",
    "weighted_loss",
]
