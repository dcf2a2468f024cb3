"""Search: Optuna studies of a model, resumable, with parallel workers.

- ``plan_search`` / ``run_search``: one study, its workers, the trial target.
- ``Objective``: one trial = one ``Recipe.train`` of a sampled config, pruned on the score.
- ``WorkerSampler``: one sampler seed per worker and rerun.
- ``estimate``: time per epoch and trial, and the memory of the largest config.
- ``SearchDisplay``, ``storage_status``: what a search and ``harness status`` print.
"""

from harness.search.display import SearchDisplay, storage_status
from harness.search.estimate import Estimate, estimate
from harness.search.objective import Objective
from harness.search.sampler import WorkerSampler
from harness.search.workers import SearchPlan, SearchRequest, plan_search, run_search

__all__ = [
    "Estimate",
    "Objective",
    "SearchDisplay",
    "SearchPlan",
    "SearchRequest",
    "WorkerSampler",
    "estimate",
    "plan_search",
    "run_search",
    "storage_status",
]
