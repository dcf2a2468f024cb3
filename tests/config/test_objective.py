"""An objective file's `directions:` (a Pareto search): what it asks Optuna for, what it refuses."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from harness.config import (
    ObjectiveSpec,
    SpaceError,
    files_from_text,
    load_files,
    load_objective,
    project_file,
)
from harness.config.load import YamlText
from harness.metrics import MACRO_F1, PSR, SHARPE, SHARPE_FLOOR, TIMING_PSR

FRONT = (
    "directions:\n"
    "  - {metric: macro_f1}\n"
    "  - {metric: timing_psr, reduce: min, direction: maximize}\n"
)


def _load(tmp_path: Path, text: str) -> ObjectiveSpec:
    path = tmp_path / "objective.yaml"
    path.write_text(text)
    return load_objective(path)


def test_directions_ask_for_a_pareto_search_without_a_pruner(tmp_path: Path) -> None:
    spec = load_objective(project_file("objectives", "pareto"))  # the shipped example
    assert spec.pareto and spec.model is None
    assert spec.study_directions == ["maximize", "maximize"]
    assert spec.metric_names == ["mean val macro_f1", "mean val timing_psr"]
    assert isinstance(spec.make_pruner(spec.budget), optuna.pruners.NopPruner)
    assert isinstance(spec.make_sampler(0), optuna.samplers.NSGAIISampler)
    left_out = _load(tmp_path, FRONT + "sampler: {type: tpe}\n")
    assert left_out.pruner.type == "none"
    assert isinstance(left_out.make_sampler(0), optuna.samplers.TPESampler)
    plain = _load(tmp_path, "model: nhits\n")
    assert not plain.pareto and plain.study_directions == ["maximize"]
    assert plain.pruner.type == "median"


@pytest.mark.parametrize("pruner", ["median", "hyperband", "successive_halving"])
def test_directions_and_a_pruner_are_refused_naming_file_and_key(
    tmp_path: Path, pruner: str
) -> None:
    with pytest.raises(SpaceError, match=rf"objective.yaml: .*pruner: {pruner} prunes on one"):
        _load(tmp_path, FRONT + f"pruner: {{type: {pruner}}}\n")


BAD = {
    "one direction": ("directions:\n  - {metric: macro_f1}\n", "name two or more objectives"),
    "the same twice": (
        "directions:\n  - {metric: psr}\n  - {metric: psr, reduce: mean}\n",
        "mean val psr named twice",
    ),
    "unknown metric": (
        "directions:\n  - {metric: f1}\n  - {metric: psr}\n",
        r"directions.0.metric: Input should be 'macro_f1', 'accuracy'",
    ),
    "unknown direction": (
        "directions:\n  - {metric: psr, direction: up}\n  - {metric: sharpe}\n",
        "directions.0.direction",
    ),
    "unknown key": (
        "directions:\n  - {metric: psr, weight: 1}\n  - {metric: sharpe}\n",
        "directions.0.weight: Extra inputs",
    ),
    "a population for tpe": (
        "sampler: {type: tpe, population_size: 8}\n",
        "sampler: Value error, population_size: not an option of the tpe sampler",
    ),
    "a start-up for nsga2": (
        "sampler: {type: nsga2, n_startup_trials: 8}\n",
        "n_startup_trials: not an option of the nsga2 sampler",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_directions_name_file_and_key(tmp_path: Path, case: str) -> None:
    text, message = BAD[case]
    with pytest.raises(SpaceError, match=rf"objective.yaml: .*{message}"):
        _load(tmp_path, text)


def test_an_objective_without_a_model_serves_any_model_and_one_with_must_match() -> None:
    space = YamlText("space.yaml", "model: tft\n")
    shared = files_from_text("tft", space, YamlText("pareto.yaml", FRONT))
    assert shared.objective.pareto
    with pytest.raises(SpaceError, match=r"objective.yaml: model: 'nhits', but this run is for"):
        files_from_text("tft", space, YamlText("objective.yaml", "model: nhits\n"))
    assert load_files("nhits", objective_file=Path("pareto")).objective.pareto  # by its name


def test_objective_values_are_the_metrics_of_the_score_s_horizons_reduced() -> None:
    val = {
        1: {MACRO_F1: 0.40, TIMING_PSR: 0.70, PSR: float("nan"), SHARPE: float("inf")},
        5: {MACRO_F1: 0.50, TIMING_PSR: 0.60, PSR: 0.2, SHARPE: 1.0},
        20: {MACRO_F1: 0.90, TIMING_PSR: 0.10, PSR: 0.9, SHARPE: 2.0},
    }
    spec = files_from_text(
        "nhits",
        YamlText("space.yaml", "model: nhits\n"),
        YamlText(
            "o.yaml",
            "score: {horizons: [1, 5]}\ndirections:\n  - {metric: macro_f1}\n"
            "  - {metric: timing_psr, reduce: min}\n  - {metric: psr, reduce: max}\n"
            "  - {metric: sharpe, reduce: min}\n",
        ),
    ).objective
    # horizon 20 is not the score's; a PSR that is not finite counts 0, a Sharpe the floor
    assert spec.objective_values(val) == pytest.approx([0.45, 0.60, 0.2, SHARPE_FLOOR])
