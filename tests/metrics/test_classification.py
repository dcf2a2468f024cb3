from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from harness.metrics import classification_metrics, train_val_gap

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
