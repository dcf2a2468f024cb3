"""The files Phase 3 reads, and the model rebuilt from them; no Optuna, no Lightning.

- ``layout``: where each exported file lives under a results folder.
- ``save_checkpoint`` / ``load_model``: ``models/{model}_final.pth`` (weights, config, scaler).
- ``manifest`` / ``check_files``: size and SHA-256 of every file of a model's set.
- ``val_index`` / ``same_rows``: the rows a probability file holds.
- ``class_probs`` / ``split_probs``: the one batched inference.
- ``Predictor`` / ``load_predictor``: a finalized model as a function of bars.
"""

from harness.modelfile import layout
from harness.modelfile.checkpoint import (
    CheckpointError,
    EnsembleNet,
    ModelMeta,
    load_model,
    members,
    save_checkpoint,
)
from harness.modelfile.index import same_rows, val_index
from harness.modelfile.infer import BATCH_SIZE, class_probs, split_probs
from harness.modelfile.manifest import ManifestError, check_files, file_record, manifest
from harness.modelfile.predictor import PredictError, Prediction, Predictor, load_predictor

__all__ = [
    "BATCH_SIZE",
    "CheckpointError",
    "EnsembleNet",
    "ManifestError",
    "ModelMeta",
    "PredictError",
    "Prediction",
    "Predictor",
    "check_files",
    "class_probs",
    "file_record",
    "layout",
    "load_model",
    "load_predictor",
    "manifest",
    "members",
    "same_rows",
    "save_checkpoint",
    "split_probs",
    "val_index",
]
