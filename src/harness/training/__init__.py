"""Training: one LightningModule for every model, the Trainer set-up, the epoch report.

``fit(run, data, score, budget=..., seed=...)`` is the one way a configuration is trained: by
``harness train``, by a search trial and by a finalize member alike.
"""

from harness.training.config import (
    Budget,
    Caps,
    ConfigError,
    RunConfig,
    ScoreConfig,
    TrainConfig,
    config_keys,
)
from harness.training.fit import (
    EVAL_BATCH,
    FitResult,
    device_for_training,
    eval_batch_size,
    fit,
    predict_proba,
    seed_for,
)
from harness.training.module import DivergedError, Phase2Module, ValPredictions, weighted_loss
from harness.training.report import EpochLog, epoch_line, epoch_table_header, epoch_table_row

__all__ = [
    "EVAL_BATCH",
    "Budget",
    "Caps",
    "ConfigError",
    "DivergedError",
    "EpochLog",
    "FitResult",
    "Phase2Module",
    "RunConfig",
    "ScoreConfig",
    "TrainConfig",
    "ValPredictions",
    "config_keys",
    "device_for_training",
    "epoch_line",
    "epoch_table_header",
    "epoch_table_row",
    "eval_batch_size",
    "fit",
    "predict_proba",
    "seed_for",
    "weighted_loss",
]
