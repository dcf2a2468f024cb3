"""The verdict against the reference: differences checked against scikit-learn, intervals that
say yes only when the model is better on every part of the split."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, log_loss

from harness.metrics.verdict import compare, sentence


def _probs(rng: np.random.Generator, y: np.ndarray, skill: float) -> np.ndarray:
    """Probabilities that put `skill` extra mass on the true class."""
    p = rng.dirichlet(np.ones(3), size=y.size)
    p[np.arange(y.size), y] += skill
    return p / p.sum(1, keepdims=True)


def test_the_differences_are_sklearns() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 2000)
    a, b = _probs(rng, y, 0.3), _probs(rng, y, 0.1)
    found = compare(y, a, b, resamples=50)
    f1 = f1_score(y, a.argmax(1), average="macro") - f1_score(y, b.argmax(1), average="macro")
    assert found["macro_f1"]["difference"] == pytest.approx(f1, abs=1e-12)
    loss = log_loss(y, b, labels=[0, 1, 2]) - log_loss(y, a, labels=[0, 1, 2])
    assert found["log_loss"]["difference"] == pytest.approx(loss, abs=1e-12)


def test_a_clearly_better_model_beats_the_reference_and_an_equal_one_does_not() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 3000)
    better, worse = _probs(rng, y, 0.8), _probs(rng, y, 0.0)
    found = compare(y, better, worse, resamples=200)
    assert found["macro_f1"]["beats"] and found["log_loss"]["beats"]
    assert found["macro_f1"]["low"] <= found["macro_f1"]["difference"] <= found["macro_f1"]["high"]
    assert sentence("tft", 5, found).startswith("tft beats the reference at 5 bars by 0.")
    same = compare(y, worse, worse, resamples=50)
    assert same["macro_f1"] == {"difference": 0.0, "low": 0.0, "high": 0.0, "beats": False}
    assert sentence("tft", 1, same).startswith("tft does not beat the reference at 1 bar ")


def test_an_edge_confined_to_one_block_is_not_called_a_win() -> None:
    """Better on the first 100 rows only: the blocks that lack it pull the interval to 0."""
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 2000)
    base = _probs(rng, y, 0.0)
    model = base.copy()
    model[:100] = _probs(rng, y[:100], 5.0)
    found = compare(y, model, base, block=100, resamples=500)
    assert found["macro_f1"]["difference"] > 0 and not found["macro_f1"]["beats"]
