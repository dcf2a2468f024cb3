"""The reference models: inputs that never look across a symbol or at val, the grid point the
study's score picks, and a model file that is JSON and predicts as sklearn does."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from harness.cli import main
from harness.config import ScoreConfig
from harness.data import Phase1Data, full_windows, load_phase1, prepare, standardize
from harness.data.calendar import seen_bars_per_year
from harness.metrics import combine_score, evaluate_split
from harness.reference import (
    BOOSTING_GRID,
    FAMILIES,
    GRIDS,
    LOGISTIC_GRID,
    Reference,
    ReferenceFileError,
    ReferenceReport,
    Trees,
    balanced_weights,
    boosting_model,
    fit_references,
    fit_scaler,
    lag_names,
    lagged_features,
    load_reference,
    save_reference,
)
from tests.conftest import HORIZONS, tiny_frames, tiny_splits, write_dataset

LAGS = 4


@dataclasses.dataclass(frozen=True)
class Fitted:
    data: Phase1Data
    report: ReferenceReport
    train: np.ndarray  # rows with a full history
    val: np.ndarray


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Fitted:
    root = write_dataset(tmp_path_factory.mktemp("ref") / "tiny", tiny_frames(), tiny_splits())
    data = load_phase1(root)
    report = fit_references(data, lags=LAGS)
    names = list(data.feature_names)
    scaled = standardize(data.frame[names].to_numpy(np.float64), *fit_scaler(data))
    full = full_windows(
        data.frame["symbol"].to_numpy(), scaled, seq_len=LAGS + 1, window_end="inclusive"
    )
    return Fitted(data, report, data.train[full[data.train]], data.val[full[data.val]])


def _two_symbols() -> pd.DataFrame:
    """A: 6 rows; B: 9 rows with a missing feature at its row 2. Feature values name the row."""
    n = 15
    frame = pd.DataFrame(
        {
            "symbol": ["A"] * 6 + ["B"] * 9,
            "f0": np.arange(n, dtype=np.float64),
            "f1": 100.0 + np.arange(n),
        }
    )
    frame.loc[8, "f1"] = np.nan
    return frame


def test_lags_stay_in_their_symbol() -> None:
    frame = _two_symbols()
    x, has = lagged_features(frame, ["f0", "f1"], np.zeros(2), np.ones(2), lags=2)
    assert x.dtype == np.float32 and x.shape == (15, 6)
    # A: rows 2..5; B (rows 6..14): not its first 2 rows, nor rows whose history holds row 8
    assert np.flatnonzero(has).tolist() == [2, 3, 4, 5, 11, 12, 13, 14]
    values = frame[["f0", "f1"]].to_numpy()
    for i in np.flatnonzero(has):
        assert (frame["symbol"].iloc[i - 2 : i + 1] == frame["symbol"].iloc[i]).all()
        np.testing.assert_array_equal(x[i], values[i - 2 : i + 1].reshape(-1))  # oldest first
    assert np.isnan(x[~has]).all()
    names = ("f0_lag2", "f1_lag2", "f0_lag1", "f1_lag1", "f0_lag0", "f1_lag0")
    assert lag_names(["f0", "f1"], 2) == names
    # the first B row with history: B's own rows only, never A's last ones
    np.testing.assert_array_equal(x[11, ::2], [9.0, 10.0, 11.0])
    rows = np.array([14, 3, 6])
    part, part_has = lagged_features(
        frame, ["f0", "f1"], np.zeros(2), np.ones(2), lags=2, rows=rows
    )
    np.testing.assert_array_equal(part, x[rows])
    np.testing.assert_array_equal(part_has, has[rows])


def test_lag_zero_is_the_row_itself() -> None:
    frame = _two_symbols()
    x, has = lagged_features(
        frame, ["f0", "f1"], np.array([1.0, 2.0]), np.array([2.0, 4.0]), lags=0
    )
    assert has.sum() == 14
    expected = (frame[["f0", "f1"]].to_numpy() - [1.0, 2.0]) / [2.0, 4.0]
    np.testing.assert_array_equal(x[has], expected[has].astype(np.float32))


def test_scaler_sees_train_rows_only(tiny_dataset: Path) -> None:
    data = load_phase1(tiny_dataset)
    mean, scale = fit_scaler(data)
    scaler = prepare(data, seq_len=LAGS + 1).scaler  # the deep models' scaler
    np.testing.assert_array_equal(mean, scaler.mean_)
    np.testing.assert_array_equal(scale, scaler.scale_)
    frame = data.frame.copy()
    others = np.setdiff1d(np.arange(len(frame)), data.train)  # val, test and the gaps
    names = list(data.feature_names)
    frame.loc[others, names] = 1e6 * np.random.default_rng(1).normal(size=(len(others), 3))
    wild_mean, wild_scale = fit_scaler(dataclasses.replace(data, frame=frame))
    np.testing.assert_array_equal(wild_mean, mean)
    np.testing.assert_array_equal(wild_scale, scale)


def test_report_has_both_families(fitted: Fitted) -> None:
    report, data = fitted.report, fitted.data
    assert tuple(report.families) == FAMILIES
    assert report.best == max(FAMILIES, key=lambda f: report.families[f].score)
    assert report.n_train == len(fitted.train) and report.n_val == len(fitted.val)
    # each symbol's first LAGS train rows have no history; val rows follow the gap rows
    assert report.dropped == {"train": 2 * LAGS, "val": 0}
    for name, family in report.families.items():
        assert tuple(family.horizons) == HORIZONS
        assert [g.params for g in family.grid] == list(GRIDS[name])
        ref = family.reference
        assert ref.family == name and ref.lags == LAGS and ref.horizons == HORIZONS
        np.testing.assert_array_equal(ref.mean, fit_scaler(data)[0])  # the train scaler
        for r in family.horizons.values():
            assert 0 <= r.macro_f1 <= 1 and 0 <= r.accuracy <= 1 and r.log_loss > 0
    text = "\n".join(report.lines())
    assert "logistic" in text and "boosting" in text and f"best: {report.best}" in text


def _xy(fitted: Fitted, rows: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frame = fitted.data.frame
    ref = fitted.report.reference
    x, has = ref.features(fitted.data, rows)
    assert has.all()
    y = frame[f"label_{h}"].to_numpy()[rows].astype(np.int64) + 1
    w = frame[f"sample_weight_{h}"].to_numpy(np.float64)[rows]
    return x.astype(np.float64), y, w * balanced_weights(y, w)


def _sklearn_proba(family: str, params: dict[str, Any], fitted: Fitted) -> dict[int, np.ndarray]:
    """Val probabilities of sklearn's own models at a grid point, fit from scratch."""
    out = {}
    for h in HORIZONS:
        x, y, w = _xy(fitted, fitted.train, h)
        if family == "logistic":
            model = LogisticRegression(C=params["C"], max_iter=1000)
        else:
            model = boosting_model(int(params["max_iter"]))
        model.fit(x, y, sample_weight=w)
        out[h] = model.predict_proba(_xy(fitted, fitted.val, h)[0])
    return out


def test_chosen_grid_point_has_the_highest_val_score(fitted: Fitted) -> None:
    data, score = fitted.data, ScoreConfig()
    frame = data.frame
    for name, family in fitted.report.families.items():
        recomputed = []
        for params in GRIDS[name]:
            probs = _sklearn_proba(name, dict(params), fitted)
            per_horizon = evaluate_split(
                probs,
                {h: frame[f"label_{h}"].to_numpy()[fitted.val] + 1 for h in HORIZONS},
                frame["close"].to_numpy()[fitted.val],
                frame["symbol"].to_numpy()[fitted.val],
                bars_per_year=seen_bars_per_year(data),
                cost_bps=score.cost_bps,
                positions=fitted.val,
            )
            recomputed.append(
                combine_score(
                    per_horizon,
                    sharpe_weight=score.sharpe_weight,
                    f1_weight=score.f1_weight,
                    reduce=score.reduce,
                    sharpe_term=score.sharpe_term,
                )
            )
        np.testing.assert_allclose([g.score for g in family.grid], recomputed, atol=1e-12)
        assert dict(family.params) == GRIDS[name][int(np.argmax(recomputed))]
        assert family.score == max(recomputed)


def test_reference_predicts_as_sklearn(fitted: Fitted) -> None:
    for name, family in fitted.report.families.items():
        ref = family.reference
        expected = _sklearn_proba(name, dict(family.params), fitted)
        got = ref.proba(ref.features(fitted.data, fitted.val)[0])
        for h in HORIZONS:
            np.testing.assert_allclose(got[h], expected[h], rtol=0, atol=1e-12)


def test_fewer_iterations_are_the_first_trees(fitted: Fitted) -> None:
    """The grid's 100-iteration model is cut from the 300 fit: the same as fitting 100."""
    x, y, w = _xy(fitted, fitted.train, HORIZONS[-1])
    few, most = (int(p["max_iter"]) for p in BOOSTING_GRID)
    cut = Trees.from_sklearn(boosting_model(most).fit(x, y, sample_weight=w)).first(few)
    alone = boosting_model(few).fit(x, y, sample_weight=w)
    x_val = _xy(fitted, fitted.val, HORIZONS[-1])[0]
    np.testing.assert_array_equal(cut.raw(x_val), alone._raw_predict(x_val))


def test_model_file_round_trip(fitted: Fitted, tmp_path: Path) -> None:
    for name, family in fitted.report.families.items():
        ref = family.reference
        path = save_reference(tmp_path / f"{name}.json", ref)
        text = path.read_text(encoding="utf-8")
        assert text.startswith("{") and not path.read_bytes().startswith(b"\x80")  # no pickle

        def refuse(token: str) -> None:
            raise AssertionError(f"not strict JSON: {token}")

        assert json.loads(text, parse_constant=refuse)["family"] == name
        back = load_reference(path)
        assert (back.family, dict(back.params), back.lags) == (name, dict(ref.params), LAGS)
        assert back.feature_names == ref.feature_names and back.inputs == ref.inputs
        np.testing.assert_array_equal(back.mean, ref.mean)
        np.testing.assert_array_equal(back.scale, ref.scale)
        rows = np.arange(len(fitted.data.frame))
        before, after = ref.predict_proba(fitted.data, rows), back.predict_proba(fitted.data, rows)
        for h in HORIZONS:
            np.testing.assert_allclose(after[h], before[h], rtol=0, atol=1e-12)
            np.testing.assert_array_equal(after[h], before[h])  # in fact, bit for bit


def test_predict_proba_without_history_is_nan(fitted: Fitted) -> None:
    data, ref = fitted.data, fitted.report.reference
    rows = np.arange(len(data.frame))
    probs = ref.predict_proba(data, rows)
    starts = np.flatnonzero(
        np.r_[True, data.frame["symbol"].to_numpy()[1:] != data.frame["symbol"].to_numpy()[:-1]]
    )
    missing = np.concatenate([s + np.arange(LAGS) for s in starts])
    for h in HORIZONS:
        assert probs[h].dtype == np.float32 and probs[h].shape == (len(rows), 3)
        assert np.flatnonzero(np.isnan(probs[h][:, 0])).tolist() == missing.tolist()
        kept = np.delete(probs[h], missing, axis=0)
        np.testing.assert_allclose(kept.sum(axis=1), 1.0, atol=1e-6)
    # a frame predicts as the dataset it came from
    from_frame = ref.predict_proba(data.frame, fitted.val)
    np.testing.assert_array_equal(
        from_frame[HORIZONS[0]], ref.predict_proba(data, fitted.val)[HORIZONS[0]]
    )


def test_load_refuses_what_is_not_a_reference(fitted: Fitted, tmp_path: Path) -> None:
    import pickle

    bad = tmp_path / "model.pkl"
    bad.write_bytes(pickle.dumps({"format": "harness-reference"}))
    with pytest.raises(ReferenceFileError, match="not JSON"):
        load_reference(bad)
    bad.write_text('{"some": "json"}')
    with pytest.raises(ReferenceFileError, match="no format"):
        load_reference(bad)
    path = save_reference(tmp_path / "b.json", fitted.report.families["boosting"].reference)
    doc = json.loads(path.read_text())
    doc["version"] = 99
    bad.write_text(json.dumps(doc))
    with pytest.raises(ReferenceFileError, match="version 99"):
        load_reference(bad)
    doc["version"] = 1
    tree = doc["models"][str(HORIZONS[0])]["trees"][0][0]
    tree["left"][0] = 0  # the root its own child: a loop
    bad.write_text(json.dumps(doc))
    with pytest.raises(ReferenceFileError, match="children"):
        load_reference(bad)


def test_balanced_weights_are_sklearns() -> None:
    from sklearn.utils.class_weight import compute_class_weight

    rng = np.random.default_rng(0)
    y = rng.choice(3, size=200, p=[0.2, 0.5, 0.3])
    w = rng.uniform(0.5, 1.5, size=200)
    try:
        per_class = compute_class_weight("balanced", classes=np.arange(3), y=y, sample_weight=w)
    except TypeError:  # sklearn < 1.6 balances unweighted counts
        pytest.skip("this sklearn has no sample_weight in compute_class_weight")
    np.testing.assert_allclose(balanced_weights(y, w), per_class[y], rtol=1e-12)


def test_reference_command(tiny_dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reference", "--data", str(tiny_dataset), "--lags", "2"]) == 0
    out = capsys.readouterr().out
    assert "rows: " in out and "its symbol's 2 rows before it" in out
    for name in FAMILIES:
        assert any(line.startswith(name) for line in out.splitlines())
    assert "best: " in out
    assert main(["reference", "--data", str(tiny_dataset), "--lags", "-1"]) == 2


def test_reference_command_on_bad_data_is_one_line(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = tiny_frames()
    frames["MGC"].loc[[3, 4], "feature_1"] = float("nan")  # train rows
    root = write_dataset(tmp_path / "bad", frames, tiny_splits())
    assert main(["reference", "--data", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "feature_1" in err and "Traceback" not in err
    # more lags than a symbol has train rows
    assert main(["reference", "--data", str(tiny_dataset), "--lags", "500"]) == 2
    assert "use fewer --lags" in capsys.readouterr().err


@pytest.mark.slow
def test_demo(tmp_path: Path) -> None:
    """On the demo (5 days), both families learn the planted signal, and the saved model
    predicts what the fitted one does."""
    from harness.data.demo import make_demo

    make_demo(tmp_path, days=5)
    data = load_phase1(tmp_path)
    report = fit_references(data)
    # always the majority class scores about 0.2 (tests/demo_oracle.py)
    for family in report.families.values():
        assert family.score > 0.45
        assert all(r.macro_f1 > 0.3 for r in family.horizons.values())
    for name, family in report.families.items():
        back = load_reference(save_reference(tmp_path / f"{name}.json", family.reference))
        before, after = (
            family.reference.predict_proba(data, data.val),
            back.predict_proba(data, data.val),
        )
        for h in data.horizons:
            np.testing.assert_array_equal(after[h], before[h])
    assert isinstance(report.reference, Reference)
    assert LOGISTIC_GRID[0] in [g.params for g in report.families["logistic"].grid]
