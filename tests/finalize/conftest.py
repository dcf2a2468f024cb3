"""One tiny search per model (shared by the session), then one finalize of all three."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.data import Phase1Data, load_phase1
from harness.data.demo import make_demo
from harness.finalize import FinalizeReport, finalize
from harness.search.objective import Caps, ObjectiveSpec, load_objective
from harness.search.run import SearchRequest, prepare_search, run_search

ROOT = Path(__file__).resolve().parents[2]
MODELS = ("nhits", "tft", "patchtst")
# Finalize runs with the caps the search ran with, so it retrains exactly the best trial.
CAPS = Caps(epochs=1, batches=2)


@dataclass(frozen=True)
class Searched:
    """A storage holding one finished study per model, and what finalize needs to read it."""

    data: Phase1Data
    storage: str
    study_names: dict[str, str]
    objectives: dict[str, ObjectiveSpec]

    def finalize(
        self,
        out: Path,
        models: Sequence[str] = MODELS,
        *,
        study_names: dict[str, str] | None = None,
        **options: Any,
    ) -> FinalizeReport:
        return finalize(
            models=list(models),
            data=self.data,
            storage=self.storage,
            study_names={**self.study_names, **(study_names or {})},
            objectives=self.objectives,
            out=out,
            max_epochs=CAPS.epochs,
            max_batches=CAPS.batches,
            say=lambda _: None,
            **options,
        )


@pytest.fixture(scope="session")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Searched:
    root = tmp_path_factory.mktemp("finalize-search")
    make_demo(root / "demo", days=8)
    # Flagged as the demo dataset, so the search samples the CPU-sized demo spaces and budgets.
    data = dataclasses.replace(load_phase1(root / "demo"), is_demo=True)
    storage = f"sqlite:///{root}/studies.db"
    names = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("harness.search.run.load_dataset", lambda _path, say=print: data)
        for model in MODELS:
            request = SearchRequest(
                model=model,
                trials=2,
                space_file=ROOT / "search_spaces" / f"{model}.yaml",
                objective_file=ROOT / "objectives" / f"{model}.yaml",
                storage=storage,
                caps=CAPS,
            )
            prepared = prepare_search(request, say=lambda _: None)
            run_search(prepared)
            names[model] = prepared.study_name
    objectives = {m: load_objective(ROOT / "objectives" / f"{m}.yaml") for m in MODELS}
    return Searched(data=data, storage=storage, study_names=names, objectives=objectives)


@pytest.fixture(scope="session")
def exported(searched: Searched, tmp_path_factory: pytest.TempPathFactory) -> FinalizeReport:
    """All three models finalized into one folder. Tests read it; to break it, copy it first."""
    return searched.finalize(tmp_path_factory.mktemp("finalize") / "results")
