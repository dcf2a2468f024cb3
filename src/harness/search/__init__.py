"""Search: YAML spaces and objectives, the trial recipe, studies on Optuna's RDB storage.

- ``Recipe``: how one model trains on one dataset (space, objective, caps); ``recipe.train`` is
  the one call behind `harness train`, a search trial and a finalize member.
- ``prepare_search`` / ``run_search``: resumable, parallel workers on one study.
- ``open_storage``, ``load_study``, ``pick_trial``, ``best_trial``: studies and their trials.
- ``artifacts_dir``, ``stored_val_classes``, ``overfitting``: each complete trial's val
  predictions in Optuna's artifact store, and the probability of backtest overfitting they give.
"""

from harness.search.artifacts import (
    ARTIFACTS_ENV,
    DEFAULT_BLOCKS,
    artifacts_dir,
    overfitting,
    stored_val_classes,
    study_overfitting,
)
from harness.search.display import SearchDisplay, status_table
from harness.search.objective import Objective, ObjectiveSpec, load_objective
from harness.search.recipe import Recipe
from harness.search.run import (
    Prepared,
    SearchRequest,
    default_study_name,
    prepare_search,
    run_search,
)
from harness.search.sampler import WorkerSampler
from harness.search.space import SearchSpace, SpaceError, load_space, project_file
from harness.search.study import (
    FINISHED,
    StorageError,
    StudyMismatch,
    StudyNotFound,
    WorkerWarning,
    best_trial,
    load_study,
    n_finished,
    open_storage,
    pick_trial,
    redact,
)

__all__ = [
    "ARTIFACTS_ENV",
    "DEFAULT_BLOCKS",
    "FINISHED",
    "Objective",
    "ObjectiveSpec",
    "Prepared",
    "Recipe",
    "SearchDisplay",
    "SearchRequest",
    "SearchSpace",
    "SpaceError",
    "StorageError",
    "StudyMismatch",
    "StudyNotFound",
    "WorkerSampler",
    "WorkerWarning",
    "artifacts_dir",
    "best_trial",
    "default_study_name",
    "load_objective",
    "load_space",
    "load_study",
    "n_finished",
    "open_storage",
    "overfitting",
    "pick_trial",
    "prepare_search",
    "project_file",
    "redact",
    "run_search",
    "status_table",
    "stored_val_classes",
    "study_overfitting",
]
