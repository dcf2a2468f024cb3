"""Predict: the command that applies finalized models to a split or to new bars.

``write_predictions`` writes the files of the output contract (``{model}_{split}_probs_{h}.npy``,
``{split}_index.parquet``), each atomically. The model itself is ``harness.modelfile``'s
``Predictor``.
"""

from __future__ import annotations

from harness.predict.command import (
    PREDICTED,
    SPLITS,
    PredictReport,
    index_file,
    probs_file,
    write_predictions,
)

__all__ = ["PREDICTED", "SPLITS", "PredictReport", "index_file", "probs_file", "write_predictions"]
