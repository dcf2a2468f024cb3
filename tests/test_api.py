"""The Python API the command line wraps, the study's recorded space and objective, and the
layers: loading a finalized model loads no search engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness import api
from harness.errors import HarnessError
from harness.modelfile import layout
from tests.test_cli import TINY_SPACE

SPACE = TINY_SPACE  # a small N-HiTS
# Another budget and score than the project's files: finalize must retrain with these.
OBJECTIVE = """model: nhits
score: {sharpe_weight: 0.0, f1_weight: 1.0}
budget: {max_epochs: 3, patience: 5, batches_per_epoch: 2, train_eval_rows: 64}
pruner: {type: none}
sampler: {type: random}
"""


@pytest.fixture
def custom(tmp_path: Path) -> dict[str, Path]:
    files = {"space": tmp_path / "my_space.yaml", "objective": tmp_path / "my_objective.yaml"}
    files["space"].write_text(SPACE)
    files["objective"].write_text(OBJECTIVE)
    return files


@pytest.mark.slow
def test_finalize_retrains_with_the_space_and_objective_the_study_searched(
    tiny_dataset: Path, tmp_path: Path, custom: dict[str, Path]
) -> None:
    storage = f"sqlite:///{tmp_path}/s.db"
    found = api.search(
        "nhits", trials=1, data=tiny_dataset, storage=storage, profile="cpu", **custom
    )
    assert found.finished == 1 and found.best_trial == 0
    # The files change after the search: finalize still reads what the study recorded.
    custom["objective"].write_text(OBJECTIVE.replace("max_epochs: 3", "max_epochs: 1"))
    out = tmp_path / "results"
    report = api.finalize("nhits", data=tiny_dataset, storage=storage, out=out)

    metrics = json.loads((out / layout.metrics("nhits")).read_text())
    assert metrics["budget"]["max_epochs"] == 3
    assert metrics["score"]["sharpe_weight"] == 0.0
    assert report.exported["nhits"].summary["budget"]["max_epochs"] == 3
    assert metrics["config"]["mlp_units"] == 16  # the custom space's config, not the project's
    # One complete trial: no spread of Sharpe ratios to deflate with, so no DSR, and why.
    assert "1 complete trial" in metrics["selection"]["deflated_sharpe_reason"]
    assert all(m["deflated_sharpe"] is None for m in metrics["horizons"].values())


@pytest.mark.slow
def test_finalize_refuses_another_objective_naming_both_digests(
    tiny_dataset: Path, tmp_path: Path, custom: dict[str, Path]
) -> None:
    storage = f"sqlite:///{tmp_path}/s.db"
    api.search("nhits", trials=1, data=tiny_dataset, storage=storage, profile="cpu", **custom)
    other = tmp_path / "other.yaml"
    other.write_text(OBJECTIVE.replace("sharpe_weight: 0.0", "sharpe_weight: 0.5"))
    with pytest.raises(HarnessError) as refused:
        api.finalize(
            "nhits", data=tiny_dataset, storage=storage, out=tmp_path / "r", objective=other
        )
    message = str(refused.value)
    assert "--objective" in message and message.count("digest") == 2
    assert not (tmp_path / "r" / layout.checkpoint("nhits")).exists()


def test_a_recorded_pair_reads_back_as_it_was_written(tmp_path: Path) -> None:
    import optuna

    from harness.config import load_files
    from harness.storage import record_files, recorded_files

    (tmp_path / "s.yaml").write_text(SPACE)
    (tmp_path / "o.yaml").write_text(OBJECTIVE)
    files = load_files("nhits", tmp_path / "s.yaml", tmp_path / "o.yaml")
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="x", storage=storage)
    assert recorded_files(storage, "x", "nhits") is None
    record_files(storage, "x", files)
    back = recorded_files(storage, "x", "nhits")
    assert back is not None
    assert back.objective == files.objective and back.space == files.space
    assert back.objective_text.digest == files.objective_text.digest
    assert storage.get_study_user_attrs(0)["objective_digest"] == files.objective_text.digest


def test_loading_a_model_loads_neither_optuna_nor_lightning() -> None:
    code = (
        "import sys, harness, harness.predict, harness.api\n"
        "harness.load_predictor\n"
        "heavy = ('optuna', 'optuna_dashboard', 'lightning', 'pytorch_lightning')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_the_version_is_the_installed_package_s() -> None:
    from importlib.metadata import version

    import harness

    assert harness.__version__ == version("harness")
