"""Training: the one story from a config and data to a fitted network.

``Recipe.train(run, seed=...)`` is the one way a configuration is trained: by ``harness train``,
by a search trial and by a finalize member alike. It calls ``fit``: one LightningModule for
every model, the Trainer set-up, early stopping on the score, the best epoch's weights kept, and,
when asked, each epoch's curves in Lightning's TensorBoard or CSV logger (``Curves``).
"""

from harness.training.curves import CURVES_DIR, Curves, check_logger
from harness.training.epochs import EpochLog, epoch_line, epoch_table_header, epoch_table_row
from harness.training.fit import EVAL_BATCH, FitResult, eval_batch_size, fit, seed_for
from harness.training.module import DivergedError, Phase2Module, ValPredictions, weighted_loss
from harness.training.recipe import Recipe

__all__ = [
    "CURVES_DIR",
    "EVAL_BATCH",
    "Curves",
    "DivergedError",
    "EpochLog",
    "FitResult",
    "Phase2Module",
    "Recipe",
    "ValPredictions",
    "check_logger",
    "epoch_line",
    "epoch_table_header",
    "epoch_table_row",
    "eval_batch_size",
    "fit",
    "seed_for",
    "weighted_loss",
]
