"""Predict: a finalized model applied to any split or to new bars, by the rules it trained with.

- ``load_predictor(results, model)``: the model of ``results/models/{model}_final.pth``;
  ``.predict_proba(frame)`` gives float32 [N, 3] probabilities per horizon, one row per frame
  row, NaN where a row has fewer than L rows of history.
- ``write_predictions``: what ``harness predict`` does, the files of DESIGN.md section 6
  (``{model}_{split}_probs_{h}.npy``, ``{split}_index.parquet``), each written atomically.
"""

from __future__ import annotations

from harness.predict._predictor import (
    BATCH_SIZE,
    PredictError,
    Prediction,
    Predictor,
    load_predictor,
)
from harness.predict._write import (
    PREDICTED,
    SPLITS,
    PredictReport,
    index_file,
    probs_file,
    write_predictions,
)

__all__ = [
    "BATCH_SIZE",
    "PREDICTED",
    "SPLITS",
    "PredictError",
    "PredictReport",
    "Prediction",
    "Predictor",
    "index_file",
    "load_predictor",
    "probs_file",
    "write_predictions",
]
