"""RunConfig's flat form: a lossless round trip, and errors that name the offending key."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from harness.config import (
    Budget,
    Caps,
    ConfigError,
    RunConfig,
    ScoreConfig,
    TrainConfig,
    config_keys,
)
from harness.config.space import load_space
from harness.errors import HarnessError
from harness.models import MODELS

SEARCH_SPACES = Path(__file__).parents[2] / "search_spaces"
NAMES = sorted(MODELS)


def fixed_values(model: str, *, profile: str = "seed") -> dict[str, Any]:
    """The flat config `harness train` starts from: a search space's fixed values."""
    return load_space(SEARCH_SPACES / f"{model}.yaml").for_profile(profile).flat({})


@pytest.mark.parametrize("name", NAMES)
def test_defaults_round_trip(name: str) -> None:
    run = RunConfig.from_flat({"model": name})
    assert run.net == MODELS[name].config()
    assert run.train == TrainConfig()
    assert RunConfig.from_flat(run.to_flat()) == run


@pytest.mark.parametrize("profile", ["seed", "cpu"])
@pytest.mark.parametrize("name", NAMES)
def test_search_space_values_round_trip(name: str, profile: str) -> None:
    values = fixed_values(name, profile=profile)
    run = RunConfig.from_flat(values)
    flat = run.to_flat()
    assert set(flat) == config_keys(name) | {"model"}
    assert {k: flat[k] for k in values} == values  # every given value kept as given
    assert RunConfig.from_flat(flat) == run


def test_to_flat_holds_scalars_only() -> None:
    for name in NAMES:
        flat = RunConfig.from_flat({"model": name}).to_flat()
        assert [k for k, v in flat.items() if not isinstance(v, bool | int | float | str)] == []


def test_int_is_accepted_for_float_and_stored_as_float() -> None:
    run = RunConfig.from_flat({"model": "nhits", "learning_rate": 1, "dropout": 0})
    assert run.train.learning_rate == 1.0 and isinstance(run.train.learning_rate, float)
    assert run.net.dropout == 0.0 and isinstance(run.net.dropout, float)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("bogus", 1),  # unknown
        ("learning_rate", "1e-4"),  # wrong type: a string (PyYAML reads 1e-4 so)
        ("learning_rate", None),
        ("batch_size", True),  # a bool is not an int
        ("batch_size", 64.0),  # nor is a float
        ("grad_clip", "5"),
        ("alpha_short", False),
        ("optimizer", 1),
        ("seq_len", "16"),  # a model key, wrong type
        ("batch_norm", 1),  # an int is not a bool
        ("optimizer", "sgd"),  # bad value
        ("scheduler", "step"),
        ("class_weights", "inverse"),
        ("precision", "16-mixed"),
        ("window_end", "left"),
        ("batch_size", 0),
        ("learning_rate", 0.0),
        ("weight_decay", -1.0),
        ("max_epochs", 5),  # the budget's, not a config key
        ("grad_clip", -1.0),
        ("alpha_long", -0.5),
        ("dropout", 1.5),  # a model key, bad value
        ("pooling", "wide"),
        ("seq_len", 0),
    ],
)
def test_bad_key_or_value_is_a_config_error_naming_it(key: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        RunConfig.from_flat({"model": "nhits", key: value}, where="my.yaml")
    message = str(info.value)
    assert message.startswith("my.yaml: ")
    # named as the culprit, not only in the list of known keys an unknown key's message ends with
    assert key in message.split("; known:")[0]


def test_every_bad_key_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        RunConfig.from_flat({"model": "tft", "bogus": 1, "bogus_too": 2})
    assert "bogus" in str(info.value) and "bogus_too" in str(info.value)


@pytest.mark.parametrize("values", [{}, {"model": "lstm"}, {"model": None}])
def test_missing_or_unknown_model_is_a_config_error(values: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="unknown model"):
        RunConfig.from_flat(values)


def test_a_key_of_another_model_is_unknown() -> None:
    with pytest.raises(ConfigError, match="d_model"):
        RunConfig.from_flat({"model": "nhits", "d_model": 64})


def test_from_flat_leaves_its_input_alone() -> None:
    values = {"model": "patchtst", "d_model": 16, "n_heads": 2, "learning_rate": 1.0e-3}
    copy = dict(values)
    RunConfig.from_flat(values)
    assert values == copy


def test_configs_are_frozen() -> None:
    run = RunConfig.from_flat({"model": "nhits"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.train.learning_rate = 1.0  # type: ignore[misc]


def test_seq_len_is_the_models() -> None:
    assert RunConfig.from_flat({"model": "tft", "seq_len": 48}).seq_len == 48


@pytest.mark.parametrize(("key", "value"), [("reduce", "median"), ("cost_bps", -1.0)])
def test_score_config_rejects_bad_values(key: str, value: Any) -> None:
    with pytest.raises(ValueError, match=key):
        ScoreConfig(**{key: value})


def test_score_config_takes_a_yaml_list_of_horizons_and_refuses_an_empty_one() -> None:
    assert ScoreConfig.model_validate({"horizons": [1, 20]}).horizons == (1, 20)
    with pytest.raises(ValueError, match="horizon"):
        ScoreConfig.model_validate({"horizons": []})


BUDGET = Budget(max_epochs=5, patience=2, batches_per_epoch=8, train_eval_rows=100)


@pytest.mark.parametrize(
    ("caps", "epochs", "batches", "eval_batches"),
    [
        (Caps(), 5, 8, None),  # no caps: the budget
        (Caps(epochs=10, max_batches=100), 5, 8, 100),  # a cap above the budget lowers nothing
        (Caps(epochs=2, max_batches=3), 2, 3, 3),  # caps below it win
        (Caps(max_batches=3), 5, 3, 3),
    ],
)
def test_caps_lower_the_budget_and_never_raise_it(
    caps: Caps, epochs: int, batches: int, eval_batches: int | None
) -> None:
    capped = BUDGET.capped(caps)
    assert (capped.max_epochs, capped.batches_per_epoch, capped.eval_batches) == (
        epochs,
        batches,
        eval_batches,
    )
    assert (capped.patience, capped.train_eval_rows) == (2, 100)  # not capped


@pytest.mark.parametrize(
    ("field", "flag"), [("epochs", "--epochs"), ("max_batches", "--max-batches")]
)
def test_caps_below_one_are_refused_naming_the_flag(field: str, flag: str) -> None:
    with pytest.raises(HarnessError, match=f"{flag} must be >= 1, got 0"):
        Caps(**{field: 0})
