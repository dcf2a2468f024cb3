"""One tiny search per model (shared by the session), then one finalize of all three."""

from __future__ import annotations

import optuna
import pytest

from harness.data import load_phase1
from harness.data.demo import make_demo
from harness.finalize import FinalizeError, FinalizeReport
from harness.search import SearchRequest, plan_search, run_search
from harness.storage import open_storage
from tests.finalize.support import CAPS, MODELS, PROFILE, Searched, dead_pid


@pytest.fixture(scope="session")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Searched:
    root = tmp_path_factory.mktemp("finalize-search")
    make_demo(root / "demo", days=5)
    data = load_phase1(root / "demo")
    storage = f"sqlite:///{root}/studies.db"
    names = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("harness.search.workers.load_dataset", lambda _path, say=print: data)
        for model in MODELS:
            request = SearchRequest(
                model=model,
                trials=2,
                storage=storage,
                caps=CAPS,
                profile=PROFILE,
            )
            prepared = plan_search(request, say=lambda _: None)
            run_search(prepared)
            names[model] = prepared.study_name
    return Searched(data=data, storage=storage, study_names=names)


@pytest.fixture(scope="session")
def exported(searched: Searched, tmp_path_factory: pytest.TempPathFactory) -> FinalizeReport:
    """All three models finalized into one folder. Tests read it; to break it, copy it first."""
    return searched.finalize(tmp_path_factory.mktemp("finalize") / "results")


@pytest.fixture(scope="session")
def partial(searched: Searched, tmp_path_factory: pytest.TempPathFactory) -> FinalizeError:
    """nhits with an empty study beside a 2-seed patchtst ensemble, into a folder that holds
    the staging folder of a killed finalize."""
    optuna.create_study(study_name="nhits-empty", storage=open_storage(searched.storage))
    out = tmp_path_factory.mktemp("partial") / "results"
    stale = out / f".tmp-nhits-{dead_pid()}-abc123"
    (stale / "models").mkdir(parents=True)
    (stale / "models" / "nhits_final.pth").write_bytes(b"half a file")
    with pytest.raises(FinalizeError) as info:
        searched.finalize(out, ["nhits", "patchtst"], study_names={"nhits": "nhits-empty"}, seeds=2)
    return info.value
