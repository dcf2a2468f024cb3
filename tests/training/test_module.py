"""The loss and the class weights of Phase2Module, against values computed by hand."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
import torch

from harness.config import Budget, ScoreConfig, TrainConfig
from harness.data import Batch, PreparedData, logits_key
from harness.metrics import TOTAL_RETURN, evaluate_split
from harness.training import Phase2Module, weighted_loss
from harness.training.module import balanced_class_weights

HORIZONS = (1, 5, 20)
LN2, LN3 = math.log(2.0), math.log(3.0)
# Logits whose softmax is easy: [0, 0, 0] -> 1/3 each; [ln 2, 0, 0] -> 1/2, 1/4, 1/4.
EVEN, TILTED = [0.0, 0.0, 0.0], [LN2, 0.0, 0.0]


def two_rows() -> tuple[dict[str, torch.Tensor], Batch]:
    """Two rows, three horizons. Per row and horizon: logits, class, sample weight, and the
    cross-entropy -log p(class) they give:

    h=1:  EVEN, class 2, w 1 -> ln 3    TILTED, class 0, w 3 -> ln 2
    h=5:  TILTED, class 1, w 2 -> ln 4  TILTED, class 0, w 2 -> ln 2
    h=20: EVEN, class 0, w 0.5 -> ln 3  EVEN, class 1, w 0 -> ln 3 (weight 0: ignored)
    """
    outputs = {
        logits_key(1): torch.tensor([EVEN, TILTED]),
        logits_key(5): torch.tensor([TILTED, TILTED]),
        logits_key(20): torch.tensor([EVEN, EVEN]),
    }
    batch = Batch(
        x=torch.zeros(2, 4, 1),
        y=torch.tensor([[2, 1, 0], [0, 0, 1]]),
        w=torch.tensor([[1.0, 2.0, 0.5], [3.0, 2.0, 0.0]]),
        symbol=torch.zeros(2, dtype=torch.int64),
        rows=torch.arange(2),
    )
    return outputs, batch


def loss_of(alphas: list[float], class_weights: torch.Tensor | None = None) -> float:
    outputs, batch = two_rows()
    loss = weighted_loss(
        outputs, batch, horizons=HORIZONS, alphas=alphas, class_weights=class_weights
    )
    assert loss.shape == ()
    return float(loss)


def test_weighted_loss_equal_alphas() -> None:
    # sum_h (sum_i w_i ce_i / sum_i w_i)
    h1 = (1 * LN3 + 3 * LN2) / 4
    h5 = (2 * 2 * LN2 + 2 * LN2) / 4
    h20 = (0.5 * LN3 + 0.0) / 0.5
    assert loss_of([1.0, 1.0, 1.0]) == pytest.approx(h1 + h5 + h20, rel=1e-6)


def test_weighted_loss_alphas_weight_each_horizon() -> None:
    h1, h5, h20 = (LN3 + 3 * LN2) / 4, 1.5 * LN2, LN3
    assert loss_of([1.0, 2.0, 0.5]) == pytest.approx(h1 + 2 * h5 + 0.5 * h20, rel=1e-6)
    assert loss_of([0.0, 1.0, 0.0]) == pytest.approx(h5, rel=1e-6)
    assert loss_of([0.0, 0.0, 0.0]) == 0.0


def test_weighted_loss_class_weights_scale_each_rows_cross_entropy() -> None:
    # A class weight multiplies the CE of the rows of that class; the denominator stays sum_i w_i.
    class_weights = torch.tensor([[1.0, 1.0, 2.0], [1.0, 3.0, 1.0], [1.0, 1.0, 1.0]])
    h1 = (1 * 2 * LN3 + 3 * LN2) / 4  # row 1 is class 2: weight 2
    h5 = (2 * 3 * 2 * LN2 + 2 * LN2) / 4  # row 1 is class 1: weight 3
    h20 = LN3
    assert loss_of([1.0, 1.0, 1.0], class_weights) == pytest.approx(h1 + h5 + h20, rel=1e-6)


def test_weighted_loss_of_zero_weights_is_zero_not_nan() -> None:
    outputs, batch = two_rows()
    batch = batch._replace(w=torch.zeros(2, 3))
    loss = weighted_loss(outputs, batch, horizons=HORIZONS, alphas=[1.0] * 3, class_weights=None)
    assert float(loss) == 0.0


def test_weighted_loss_gradient_reaches_the_logits() -> None:
    outputs, batch = two_rows()
    outputs = {k: v.requires_grad_() for k, v in outputs.items()}
    loss = weighted_loss(outputs, batch, horizons=HORIZONS, alphas=[1.0] * 3, class_weights=None)
    loss.backward()
    # d CE / d logits = softmax - onehot, times w_i / sum w; row 0 of h=1: (1/3 - [0, 0, 1]) / 4
    expected = torch.tensor([1 / 3, 1 / 3, -2 / 3]) / 4
    torch.testing.assert_close(outputs[logits_key(1)].grad[0], expected)
    assert not outputs[logits_key(20)].grad[1].any()  # weight 0: no gradient


@pytest.mark.parametrize(
    ("horizons", "expected"),
    [
        ((1,), [0.1]),
        ((1, 20), [0.1, 0.3]),
        ((1, 5, 20), [0.1, 0.2, 0.3]),
        ((1, 5, 10, 20), [0.1, 0.2, 0.2, 0.3]),
    ],
)
def test_alphas_are_short_mid_long(horizons: tuple[int, ...], expected: list[float]) -> None:
    config = TrainConfig(alpha_short=0.1, alpha_mid=0.2, alpha_long=0.3)
    assert config.alphas(horizons) == expected


# --- balanced class weights ------------------------------------------------------------------


def with_labels(data: PreparedData, train_labels: list[list[int]]) -> PreparedData:
    """`data` whose train rows are the first len(train_labels) rows, labeled as given; every
    other row is labeled class 0, which balanced weights must not count."""
    labels = torch.zeros_like(data.labels)
    labels[: len(train_labels)] = torch.tensor(train_labels)
    train = torch.arange(len(train_labels))
    return dataclasses.replace(data, labels=labels, train=train)


def test_balanced_class_weights_on_a_known_distribution(demo_data: PreparedData) -> None:
    # h=1: classes 0, 1, 2 seen 1, 2, 7 times -> inverse 1, 1/2, 1/7 = [14, 7, 2] / 14;
    #      normalized to mean 1: [42, 21, 6] / 23.
    # h=5: 4, 3, 3 -> [1/4, 1/3, 1/3] = [3, 4, 4] / 12 -> [9, 12, 12] / 11.
    # h=20: 3 of each on 9 rows, then class 2 on the 10th: [1/3, 1/3, 1/4] -> [12, 12, 9] / 11.
    h1 = [0] + [1] * 2 + [2] * 7
    h5 = [0] * 4 + [1] * 3 + [2] * 3
    h20 = [0, 1, 2] * 3 + [2]
    data = with_labels(demo_data, [list(row) for row in zip(h1, h5, h20, strict=True)])
    expected = torch.tensor(
        [[42 / 23, 21 / 23, 6 / 23], [9 / 11, 12 / 11, 12 / 11], [12 / 11, 12 / 11, 9 / 11]]
    )
    weights = balanced_class_weights(data)
    assert weights.shape == (3, 3)
    torch.testing.assert_close(weights, expected)


def test_a_class_absent_from_train_gets_weight_0(demo_data: PreparedData) -> None:
    # classes 0, 1 seen 5 times each, class 2 never: the present ones stay 1, class 2 gets 0
    data = with_labels(demo_data, [[k % 2] * 3 for k in range(10)])
    torch.testing.assert_close(balanced_class_weights(data), torch.tensor([[1.0, 1.0, 0.0]] * 3))


def test_balanced_class_weights_of_balanced_labels_are_one(demo_data: PreparedData) -> None:
    data = with_labels(demo_data, [[k % 3] * 3 for k in range(12)])
    torch.testing.assert_close(balanced_class_weights(data), torch.ones(3, 3))


@pytest.mark.parametrize(("setting", "balanced"), [("none", False), ("balanced", True)])
def test_module_uses_class_weights_when_asked(
    demo_data: PreparedData, setting: str, balanced: bool
) -> None:
    module = Phase2Module(
        torch.nn.Identity(),
        data=demo_data,
        config=TrainConfig(class_weights=setting),
        score=ScoreConfig(),
        budget=Budget(),
        bars_per_year=1.0,
    )
    if balanced:
        torch.testing.assert_close(module.class_weights, balanced_class_weights(demo_data))
    else:
        assert module.class_weights is None


def test_the_epoch_backtest_books_no_return_across_a_hole(demo_data: PreparedData) -> None:
    module = Phase2Module(
        torch.nn.Identity(),
        data=demo_data,
        config=TrainConfig(),
        score=ScoreConfig(),
        budget=Budget(),
        bars_per_year=1000.0,
    )
    val = demo_data.val.cpu().numpy()
    rows = np.concatenate([val[:100], val[150:200]])  # 50 rows of one symbol left out
    pred = np.full((len(rows), len(demo_data.spec.horizons)), 2)  # always long
    h = demo_data.spec.horizons[0]
    labels = {h: demo_data.labels[torch.as_tensor(rows)][:, 0].numpy()}

    def backtest(**positions: Any) -> dict[str, Any]:
        close, symbols = demo_data.close[rows], demo_data.symbols[rows]
        out = evaluate_split(
            {h: pred[:, 0]}, labels, close, symbols, bars_per_year=1000.0, **positions
        )
        return out[h]

    got = module.evaluate(rows, pred)[h]
    assert got[TOTAL_RETURN] == pytest.approx(backtest(positions=rows)[TOTAL_RETURN])
    assert got[TOTAL_RETURN] != pytest.approx(backtest()[TOTAL_RETURN])  # the premise: it matters


@pytest.mark.parametrize("scheduler", ["cosine", "plateau", "none"])
def test_warmup_raises_the_rate_linearly_then_the_epoch_schedule_takes_over(
    demo_data: PreparedData, scheduler: str
) -> None:
    base, warmup, epochs = 1.0e-2, 4, 5
    module = Phase2Module(
        torch.nn.Linear(1, 1),
        data=demo_data,
        config=TrainConfig(learning_rate=base, scheduler=scheduler, warmup_batches=warmup),
        score=ScoreConfig(),
        budget=Budget(max_epochs=epochs),
        bars_per_year=1.0,
    )
    [optimizer], schedulers = module.configure_optimizers()
    assert schedulers[0]["interval"] == "step"
    rates = []
    for _ in range(warmup + 2):  # batches, as Lightning steps a per-batch scheduler
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedulers[0]["scheduler"].step()
    np.testing.assert_allclose(rates, [*np.linspace(base / warmup, base, warmup + 1), base])
    if scheduler == "cosine":  # the first epoch's end: the cosine's factor on the full rate
        schedulers[1]["scheduler"].step()
        cosine = base * (1 + math.cos(math.pi / epochs)) / 2
        assert optimizer.param_groups[0]["lr"] == pytest.approx(cosine)
    assert len(schedulers) == (1 if scheduler == "none" else 2)
