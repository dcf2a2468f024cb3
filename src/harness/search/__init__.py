"""Search: YAML spaces and objectives, the trial recipe, studies on Optuna's RDB storage.

- ``Recipe``: how one model trains on one dataset (space, objective, caps); ``recipe.train`` is
  the one call behind `harness train`, a search trial and a finalize member.
- ``prepare_search`` / ``run_search``: resumable, parallel workers on one study.
- ``open_storage``, ``load_study``, ``pick_trial``, ``best_trial``: studies and their trials.
- ``artifacts_dir``, ``stored_val_classes``, ``overfitting``: each complete trial's val
  predictions in Optuna's artifact store, and the probability of backtest overfitting they give;
  ``store_files``: files (finalize's reports) linked from a study's dashboard page.
- ``search.attrs``: what the dashboard shows of a study and its trials (flat attributes, notes).
- ``choose_profile``, ``find_study``, ``recorded_profile``: profiles, the sizes a study trains at
  (``seed``, ``cpu``, or a section of the YAML files), chosen by the device or ``--profile``.
- ``estimate``: time per epoch and trial, and the memory of the largest config, before a search.
"""

from harness.search.artifacts import (
    ARTIFACTS_ENV,
    DEFAULT_BLOCKS,
    artifacts_dir,
    overfitting,
    store_files,
    stored_val_classes,
    study_overfitting,
)
from harness.search.display import SearchDisplay, storage_status
from harness.search.estimate import Estimate, estimate
from harness.search.objective import Objective, ObjectiveSpec, load_objective
from harness.search.profile import (
    CPU,
    SEED,
    ProfileChoice,
    choose_profile,
    find_study,
    recorded_choice,
    recorded_profile,
)
from harness.search.recipe import Recipe, load_files
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
    "CPU",
    "DEFAULT_BLOCKS",
    "FINISHED",
    "SEED",
    "Estimate",
    "Objective",
    "ObjectiveSpec",
    "Prepared",
    "ProfileChoice",
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
    "choose_profile",
    "default_study_name",
    "estimate",
    "find_study",
    "load_files",
    "load_objective",
    "load_space",
    "load_study",
    "n_finished",
    "open_storage",
    "overfitting",
    "pick_trial",
    "prepare_search",
    "project_file",
    "recorded_choice",
    "recorded_profile",
    "redact",
    "run_search",
    "storage_status",
    "store_files",
    "stored_val_classes",
    "study_overfitting",
]
