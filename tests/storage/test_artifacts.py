"""Each complete trial's val predictions in Optuna's artifact store, and the PBO they give: an
in-memory study on the tiny dataset."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from harness.config import ScoreConfig
from harness.data import load_phase1
from harness.errors import HarnessError
from harness.metrics import CONFUSION, confusion_matrix
from harness.search import Objective
from harness.storage import (
    ARTIFACTS_ENV,
    BY_SCORE,
    artifacts_dir,
    overfitting,
    stored_val_classes,
    study_overfitting,
)
from harness.storage.artifacts import (
    EPOCH_LOG_ATTR,
    FOLDER_ATTR,
    NOT_PREDICTED,
    PREDICTIONS_ATTR,
    load_epoch_log,
    record_artifacts,
    served_artifacts_dir,
    val_classes,
)
from harness.storage.attrs import VAL_MACRO_F1, horizon_attr
from harness.training import ValPredictions
from tests.search.test_objective import recipe

BLOCKS = 4  # C(4, 2) = 6 splits: the tiny dataset has 36 val rows


@pytest.fixture(autouse=True)
def _quiet() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)


def searched(root: Path, folder: Path | None, trials: int = 3) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    study.optimize(Objective(recipe(root), seed=0, artifacts=folder), n_trials=trials)
    return study


# --- where ---------------------------------------------------------------------------------------


def test_the_folder_is_beside_a_sqlite_file_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ARTIFACTS_ENV, raising=False)
    assert artifacts_dir("sqlite:///studies/harness.db") == Path("studies/artifacts")
    assert artifacts_dir("sqlite:////abs/s.db") == Path("/abs/artifacts")
    assert artifacts_dir("sqlite:///:memory:") is None
    assert artifacts_dir("postgresql://u:p@host/db") is None  # no folder every machine shares
    assert artifacts_dir("postgresql://u:p@host/db", Path("/shared")) == Path("/shared")
    monkeypatch.setenv(ARTIFACTS_ENV, "/mnt/runs")
    assert artifacts_dir("postgresql://u:p@host/db") == Path("/mnt/runs")
    assert artifacts_dir("sqlite:///s.db", Path("given")) == Path("given")


def test_a_study_remembers_its_folder_which_the_flag_and_the_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    study = optuna.create_study(study_name="remembers")
    assert record_artifacts(study, Path("shared")) is None
    assert record_artifacts(study, Path("shared")) is None  # the same folder: nothing to say
    # a study keeps the folder it was first given, and says so to a run given another
    assert record_artifacts(study, Path("later")) == str(tmp_path / "shared")
    assert study.user_attrs[FOLDER_ATTR] == str(tmp_path / "shared")
    (tmp_path / "shared").mkdir()
    monkeypatch.chdir(tmp_path.parent)  # another working folder, another storage type
    for url in ("postgresql://u:p@host/db", "grpc://proxy:13000", "sqlite:///s.db"):
        assert artifacts_dir(url, study=study) == tmp_path / "shared"
    assert artifacts_dir("grpc://proxy:13000", Path("given"), study=study) == Path("given")
    monkeypatch.setenv(ARTIFACTS_ENV, "/mnt/runs")
    assert artifacts_dir("grpc://proxy:13000", study=study) == Path("/mnt/runs")


def test_a_recorded_folder_that_is_not_there_is_one_line_naming_it_and_the_study(
    tmp_path: Path,
) -> None:
    study = optuna.create_study(study_name="moved")
    record_artifacts(study, tmp_path / "gone")
    with pytest.raises(HarnessError) as info:
        artifacts_dir("sqlite:///s.db", study=study)
    assert str(info.value).startswith(
        f"artifact folder {tmp_path / 'gone'}, recorded by study 'moved', does not exist here"
    )
    assert "--artifacts DIR" in str(info.value) and "\n" not in str(info.value)


def test_the_dashboard_serves_the_one_folder_its_studies_recorded(tmp_path: Path) -> None:
    storage = optuna.storages.InMemoryStorage()
    url = "postgresql://u:secret@host/db"
    assert served_artifacts_dir(storage, url) is None
    for name in ("a", "b"):
        record_artifacts(optuna.create_study(study_name=name, storage=storage), tmp_path)
    optuna.create_study(study_name="none recorded", storage=storage)
    assert served_artifacts_dir(storage, url) == tmp_path
    assert served_artifacts_dir(storage, url, Path("given")) == Path("given")
    record_artifacts(optuna.create_study(study_name="c", storage=storage), tmp_path / "other")
    with pytest.raises(HarnessError, match="recorded 2 artifact folders") as info:
        served_artifacts_dir(storage, url)
    assert f"{tmp_path / 'other'} by study 'c'" in str(info.value)
    assert "secret" not in str(info.value) and "pass --artifacts DIR" in str(info.value)


# --- what a trial stores -------------------------------------------------------------------------


def test_val_classes_follow_the_split_order_and_mark_rows_not_predicted() -> None:
    val = np.array([10, 11, 12, 13, 40, 41])
    kept = ValPredictions(rows=np.array([11, 12, 41]), classes=np.array([[0], [2], [1]], np.int8))
    np.testing.assert_array_equal(val_classes(kept, val)[:, 0], [-1, 0, 2, -1, -1, 1])
    with pytest.raises(ValueError, match="not rows of the val split"):
        val_classes(ValPredictions(np.array([14]), np.array([[0]], np.int8)), val)


def test_a_complete_trial_stores_the_classes_its_val_metrics_came_from(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    study = searched(tiny_dataset, tmp_path / "artifacts", trials=2)
    data = load_phase1(tiny_dataset)
    stored = stored_val_classes(study.trials, data, tmp_path / "artifacts")
    assert sorted(stored) == [0, 1]
    for t in study.trials:
        info = t.user_attrs[PREDICTIONS_ATTR]
        assert info["rows"] == len(data.val) and info["horizons"] == len(data.horizons)
        assert 0 < info["bytes"] < 2_000
        classes = stored[t.number]
        assert classes.dtype == np.int8 and classes.shape == (len(data.val), len(data.horizons))
        seen = classes[:, 0] != NOT_PREDICTED
        assert seen.sum() == info["predicted"] > 0
        log = load_epoch_log(t, tmp_path / "artifacts")
        assert log is not None
        best = log[t.user_attrs["best_epoch"]]
        for k, h in enumerate(data.horizons):
            truth = data.frame[f"label_{h}"].to_numpy()[data.val[seen]] + 1
            expected = best["val"][str(h)][CONFUSION]
            assert confusion_matrix(truth, classes[seen, k]).tolist() == expected


def test_a_complete_trial_stores_every_epoch_whose_best_its_attributes_show(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    study = searched(tiny_dataset, tmp_path / "artifacts", trials=1)
    (t,) = study.trials
    log = load_epoch_log(t, tmp_path / "artifacts")
    assert log is not None
    assert [e["epoch"] for e in log] == list(range(t.user_attrs["epochs"]))
    assert t.user_attrs[EPOCH_LOG_ATTR]["epochs"] == len(log)
    best = log[t.user_attrs["best_epoch"]]
    for h in load_phase1(tiny_dataset).horizons:
        assert best["val"][str(h)]["macro_f1"] == t.user_attrs[horizon_attr(VAL_MACRO_F1, h)]
    # linked from the trial's dashboard page: Optuna records its artifacts on the trial
    linked = [k for k in t.system_attrs if k.startswith("artifacts:")]
    assert len(linked) == 2  # the val predictions and the epoch log
    # a store that lost the files answers None, not an error
    for stored in (tmp_path / "artifacts").iterdir():
        if stored.is_file():
            stored.unlink()
    assert load_epoch_log(t, tmp_path / "artifacts") is None


def test_without_a_folder_nothing_is_stored_and_pbo_says_why(tiny_dataset: Path) -> None:
    study = searched(tiny_dataset, None, trials=2)
    assert all(PREDICTIONS_ATTR not in t.user_attrs for t in study.trials)
    result = study_overfitting(
        study, load_phase1(tiny_dataset), directory=None, score=ScoreConfig()
    )
    for o in result.values():
        assert o["pbo"] is None and "0 complete trial(s)" in o["reason"]
        assert o["n_complete"] == 2


def test_a_folder_that_cannot_be_written_fails_no_trial(tiny_dataset: Path, tmp_path: Path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    study = searched(tiny_dataset, blocked / "artifacts", trials=1)
    (t,) = study.trials
    assert t.state == TrialState.COMPLETE
    assert "cannot be created" in t.user_attrs["artifacts_error"]


# --- PBO -----------------------------------------------------------------------------------------


def test_pbo_of_the_stored_trials_per_horizon(tiny_dataset: Path, tmp_path: Path) -> None:
    study = searched(tiny_dataset, tmp_path / "artifacts", trials=3)
    data = load_phase1(tiny_dataset)
    result = study_overfitting(
        study, data, directory=tmp_path / "artifacts", score=ScoreConfig(), n_blocks=BLOCKS
    )
    assert list(result) == [*map(str, data.horizons), BY_SCORE]
    for key, o in result.items():
        assert 0.0 <= o["pbo"] <= 1.0
        assert o["n_trials"] == o["n_complete"] == 3 and o["trials"] == [0, 1, 2]
        assert o["blocks"] == BLOCKS and len(o["logits"]) == math.comb(BLOCKS, BLOCKS // 2)
        assert o["rows"] == len(data.val)  # every trial predicted every val row
        assert ("score" if key == BY_SCORE else "Sharpe") in o["metric"]


def test_pbo_compares_trials_on_the_rows_all_of_them_predicted(tiny_dataset: Path) -> None:
    data = load_phase1(tiny_dataset)
    rng = np.random.default_rng(0)
    shape = (len(data.val), len(data.horizons))
    stored = {k: rng.integers(0, 3, size=shape).astype(np.int8) for k in range(3)}
    stored[1][:4] = NOT_PREDICTED  # a longer window: its first rows had no prediction
    result = overfitting(stored, data, score=ScoreConfig(), n_blocks=BLOCKS)
    assert {o["rows"] for o in result.values()} == {len(data.val) - 4}
    one = overfitting({0: stored[0]}, data, score=ScoreConfig(), n_blocks=BLOCKS)
    assert all(o["pbo"] is None and "1 complete trial(s)" in o["reason"] for o in one.values())
    few = overfitting(stored, data, score=ScoreConfig(), n_blocks=32)  # 64 rows needed
    assert all(o["pbo"] is None and "blocks need 2 each" in o["reason"] for o in few.values())


def test_a_trial_with_a_planted_edge_is_not_overfit(tiny_dataset: Path) -> None:
    # Trial 0 knows the next bar's direction, the others guess: its IS lead holds OOS.
    data = load_phase1(tiny_dataset)
    close = data.frame["close"].to_numpy()
    ahead = np.sign(close[data.val + 1] - close[data.val]).astype(np.int8) + 1  # next bar up: 2
    rng = np.random.default_rng(1)
    stored = {0: np.column_stack([ahead] * len(data.horizons))}
    for k in range(1, 6):
        stored[k] = rng.integers(0, 3, size=stored[0].shape).astype(np.int8)
    result = overfitting(stored, data, score=ScoreConfig(cost_bps=0.0), n_blocks=BLOCKS)
    assert all(result[str(h)]["pbo"] == 0.0 for h in data.horizons)


def test_pbo_by_the_score_ranks_trials_as_the_study_did(tiny_dataset: Path) -> None:
    # Trial 0 predicts every label, the others guess: the score's choice holds out of sample.
    # Then the score's weight on the trading term alone, where trial 0 times nothing: no edge.
    data = load_phase1(tiny_dataset)
    labels = data.frame[[f"label_{h}" for h in data.horizons]].to_numpy()[data.val] + 1
    rng = np.random.default_rng(2)
    stored = {0: labels.astype(np.int8)}
    for k in range(1, 6):
        stored[k] = rng.integers(0, 3, size=labels.shape).astype(np.int8)
    by_f1 = overfitting(stored, data, score=ScoreConfig(), n_blocks=BLOCKS)[BY_SCORE]
    assert by_f1["pbo"] == 0.0 and by_f1["n_trials"] == 6
    stored[0][:] = 1  # always neutral: flat, macro-F1 poor
    flat = overfitting(stored, data, score=ScoreConfig(f1_weight=0.0), n_blocks=BLOCKS)[BY_SCORE]
    assert flat["pbo"] > 0.0
    annualized = ScoreConfig(sharpe_term="annualized", sharpe_weight=0.005)
    found = overfitting(stored, data, score=annualized, n_blocks=BLOCKS)[BY_SCORE]
    assert found["pbo"] is None and "annualized" in found["reason"]
