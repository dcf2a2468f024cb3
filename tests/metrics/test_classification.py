from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from harness.metrics import (
    calibration_metrics,
    classification_metrics,
    reliability_bins,
    train_val_gap,
)

LABELS = [0, 1, 2]


def _sklearn(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=LABELS, zero_division=0
    )
    return {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "macro_f1": skm.f1_score(y_true, y_pred, average="macro", labels=LABELS, zero_division=0),
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "confusion": skm.confusion_matrix(y_true, y_pred, labels=LABELS),
        "support": support,
    }


def _assert_matches_sklearn(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    ours = classification_metrics(y_true, y_pred)
    ref = _sklearn(y_true, y_pred)
    assert set(ours) == set(ref)
    for key in ("accuracy", "macro_f1", "f1", "precision", "recall"):
        np.testing.assert_allclose(ours[key], ref[key], rtol=0, atol=1e-12, err_msg=key)
    np.testing.assert_array_equal(ours["confusion"], ref["confusion"])
    np.testing.assert_array_equal(ours["support"], ref["support"])


@pytest.mark.parametrize("seed", range(5))
def test_random_labels_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 500))
    _assert_matches_sklearn(rng.integers(0, 3, n), rng.integers(0, 3, n))


def test_class_never_predicted_matches_sklearn() -> None:
    rng = np.random.default_rng(10)
    y_true = rng.integers(0, 3, 200)
    y_pred = rng.choice([0, 2], 200)  # class 1 never predicted: precision 0 by convention
    _assert_matches_sklearn(y_true, y_pred)


def test_class_absent_from_truth_matches_sklearn() -> None:
    rng = np.random.default_rng(11)
    y_true = rng.choice([0, 1], 200)  # no true class 2: recall 0, still in the macro mean
    y_pred = rng.integers(0, 3, 200)
    _assert_matches_sklearn(y_true, y_pred)


def test_single_class_everywhere_matches_sklearn() -> None:
    _assert_matches_sklearn(np.ones(50, dtype=int), np.ones(50, dtype=int))


def test_hand_computed_example() -> None:
    # cm = [[1, 1, 0], [0, 1, 0], [0, 1, 0]]
    m = classification_metrics([0, 0, 1, 2], [0, 1, 1, 1])
    assert m["confusion"] == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]
    assert m["accuracy"] == 0.5
    assert m["precision"] == pytest.approx([1.0, 1 / 3, 0.0])
    assert m["recall"] == pytest.approx([0.5, 1.0, 0.0])
    assert m["f1"] == pytest.approx([2 / 3, 0.5, 0.0])
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.5) / 3)
    assert m["support"] == [2, 1, 1]


def test_result_is_strict_json() -> None:
    m = classification_metrics([0, 1, 2, 2], [2, 1, 0, 2])
    assert json.loads(json.dumps(m, allow_nan=False)) == m


def test_integral_floats_are_accepted() -> None:
    assert classification_metrics([0.0, 2.0], [0.0, 1.0]) == classification_metrics([0, 2], [0, 1])


@pytest.mark.parametrize(
    ("y_true", "y_pred"),
    [
        ([0, 1, 3], [0, 1, 2]),  # label out of range
        ([0, 1, 2], [0, -1, 2]),
        ([0, 1, 2], [0, 1]),  # lengths differ
        ([0.5, 1, 2], [0, 1, 2]),  # not a class index
        ([], []),  # nothing to score
    ],
)
def test_bad_input_is_rejected(y_true: list, y_pred: list) -> None:
    with pytest.raises(ValueError):
        classification_metrics(y_true, y_pred)


def test_train_val_gap_is_the_relative_macro_f1_drop_per_horizon() -> None:
    train = {1: {"macro_f1": 0.5}, 5: {"macro_f1": 0.0}, "20": {"macro_f1": 0.4}}
    val = {1: {"macro_f1": 0.4}, 5: {"macro_f1": 0.3}, 20: {"macro_f1": 0.5}, 60: {"macro_f1": 0.2}}
    gap = train_val_gap(train, val)
    assert gap["1"] == pytest.approx(0.2)  # (0.5 - 0.4) / 0.5
    assert gap["20"] == pytest.approx(-0.25)  # val above train: a negative gap
    assert gap["5"] is None  # no F1 on train to compare with
    assert gap["60"] is None  # no train metrics at all
    assert set(gap) == {"1", "5", "20", "60"}


# ----------------------------------------------------------------------------- calibration


def _probs(rng: np.random.Generator, n: int, *, dtype: type = np.float64) -> np.ndarray:
    return rng.dirichlet([0.5, 1.0, 2.0], n).astype(dtype)


# scikit-learn 1.9 renamed log_loss's y_pred to y_proba, and warns when it is passed by position
NO_RENAME_WARNING = pytest.mark.filterwarnings("ignore:`y_pred` was renamed:FutureWarning")


@NO_RENAME_WARNING
@pytest.mark.parametrize("seed", range(4))
def test_calibration_matches_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    y_true, probs = rng.integers(0, 3, n), _probs(rng, n)
    ours = calibration_metrics(y_true, probs)
    assert ours["log_loss"] == pytest.approx(skm.log_loss(y_true, probs, labels=LABELS), rel=1e-12)
    # Brier: the one-vs-rest Brier scores summed over the classes (scikit-learn's multi-class
    # brier_score_loss, which needs scikit-learn >= 1.7, is the same number)
    one_vs_rest = sum(skm.brier_score_loss(y_true == c, probs[:, c]) for c in LABELS)
    assert ours["brier"] == pytest.approx(one_vs_rest, rel=1e-12)


def test_calibration_of_float32_softmax_and_certain_mistakes() -> None:
    rng = np.random.default_rng(4)
    y_true = rng.integers(0, 3, 100)
    probs = _probs(rng, 100, dtype=np.float32)  # rows sum to 1 only within float32 rounding
    probs[0] = [0.0, 0.0, 1.0]
    y_true[0] = 0  # a certain mistake: a finite loss, -ln(eps) = 36.04 for that row
    p_true = probs[np.arange(100), y_true].astype(np.float64)
    expected = -np.mean(np.log(np.maximum(p_true, np.finfo(np.float64).eps)))
    assert calibration_metrics(y_true, probs)["log_loss"] == pytest.approx(expected, rel=1e-12)


def test_calibration_hand_computed() -> None:
    probs = [[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]
    m = calibration_metrics([0, 1], probs)
    assert m["log_loss"] == pytest.approx((np.log(2) + np.log(10)) / 2)
    # row 0: 0.5^2 + 0.25^2 + 0.25^2 = 0.375; row 1: 0.1^2 + 0.9^2 + 0.8^2 = 1.46
    assert m["brier"] == pytest.approx((0.375 + 1.46) / 2)
    uniform = calibration_metrics([0, 1, 2, 2], np.full((4, 3), 1 / 3))
    assert uniform["brier"] == pytest.approx(2 / 3)
    assert uniform["log_loss"] == pytest.approx(np.log(3))


@pytest.mark.parametrize(
    "probs",
    [
        [[0.5, 0.5, 0.1], [0.2, 0.3, 0.5]],  # a row that does not sum to 1
        [[1.2, -0.2, 0.0], [0.2, 0.3, 0.5]],  # outside [0, 1]
        [[np.nan, 0.5, 0.5], [0.2, 0.3, 0.5]],
        [[0.5, 0.5], [0.2, 0.8]],  # two classes
        [[0.2, 0.3, 0.5]],  # one row for two targets
    ],
)
def test_bad_probabilities_are_rejected(probs: list) -> None:
    with pytest.raises(ValueError, match="probs"):
        calibration_metrics([0, 1], probs)


@pytest.mark.parametrize("n_bins", [5, 10])
def test_reliability_bins_match_sklearn_calibration_curve(n_bins: int) -> None:
    rng = np.random.default_rng(5)
    y_true, probs = rng.integers(0, 3, 300), _probs(rng, 300)
    bins = reliability_bins(y_true, probs, n_bins=n_bins)
    assert bins["bin_edges"] == pytest.approx(np.linspace(0, 1, n_bins + 1).tolist())
    for c in LABELS:
        observed, predicted = calibration_curve(y_true == c, probs[:, c], n_bins=n_bins)
        filled = [k for k, count in enumerate(bins["count"][c]) if count]
        assert [bins["observed"][c][k] for k in filled] == pytest.approx(observed, rel=1e-12)
        assert [bins["mean_predicted"][c][k] for k in filled] == pytest.approx(predicted)
        assert sum(bins["count"][c]) == 300


def test_reliability_bins_hand_computed() -> None:
    probs = [[0.1, 0.1, 0.8], [0.5, 0.3, 0.2], [0.7, 0.2, 0.1], [0.05, 0.05, 0.9]]
    bins = reliability_bins([2, 0, 1, 2], probs, n_bins=2)  # [0, 0.5] and (0.5, 1]
    assert bins["count"] == [[3, 1], [4, 0], [2, 2]]  # 0.5 is an edge: the lower bin
    assert bins["mean_predicted"][0] == pytest.approx([(0.1 + 0.5 + 0.05) / 3, 0.7])
    assert bins["observed"][0] == pytest.approx([1 / 3, 0.0])  # class 0 in row 1 only
    assert bins["observed"][1] == [0.25, None]  # an empty bin
    assert bins["observed"][2] == pytest.approx([0.0, 1.0])
    assert json.loads(json.dumps(bins, allow_nan=False)) == bins
