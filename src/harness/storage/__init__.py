"""Storage: studies in Optuna's RDB storage (or its gRPC proxy), and what their trials keep
beside them.

- ``open_storage``, ``load_study``, ``pick_trial``, ``best_trial``, ``find_study``,
  ``recorded_profile``, ``default_study_name``: studies and their trials; ``redact`` hides a
  URL's password.
- ``artifacts_dir``, ``stored_val_classes``, ``overfitting``, ``study_overfitting``: each
  complete trial's val predictions in Optuna's artifact store and the probability of backtest
  overfitting they give (per horizon, and ``BY_SCORE``: by the study's own score);
  ``store_files``: files linked from a study's dashboard page.
- ``storage.attrs``: what the dashboard shows of a study and its trials.
- ``storage.proxy``: Optuna's gRPC storage proxy in front of a database (``grpc://`` URLs).
"""

from harness.storage.artifacts import (
    ARTIFACTS_ENV,
    BY_SCORE,
    NOT_PREDICTED,
    artifacts_dir,
    overfitting,
    store_files,
    stored_val_classes,
    study_curves,
    study_overfitting,
)
from harness.storage.files import record_files, recorded_files, study_files
from harness.storage.study import (
    FINISHED,
    StorageError,
    StudyMismatch,
    StudyNotFound,
    WorkerWarning,
    best_trial,
    default_study_name,
    find_study,
    load_study,
    n_finished,
    open_storage,
    pick_trial,
    recorded_profile,
    redact,
)

__all__ = [
    "ARTIFACTS_ENV",
    "BY_SCORE",
    "FINISHED",
    "NOT_PREDICTED",
    "StorageError",
    "StudyMismatch",
    "StudyNotFound",
    "WorkerWarning",
    "artifacts_dir",
    "best_trial",
    "default_study_name",
    "find_study",
    "load_study",
    "n_finished",
    "open_storage",
    "overfitting",
    "pick_trial",
    "record_files",
    "recorded_files",
    "recorded_profile",
    "redact",
    "store_files",
    "stored_val_classes",
    "study_curves",
    "study_files",
    "study_overfitting",
]
