"""Which trial stands for a study: its highest score, or its front's member of the highest score."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from harness.search.display import best_line, trial_line
from harness.storage.pareto import RULE, SCORE_ATTR, chosen, pareto_front, trial_choice
from harness.storage.study import best_of, best_trial


def _study(points: list[tuple[float, float, float]], directions: list[str]) -> optuna.Study:
    """A study of complete trials with these (objective 1, objective 2, score), and a failed one."""
    study = optuna.create_study(directions=directions)
    study.set_metric_names(["mean val macro_f1", "mean val timing_psr"])
    for a, b, score in points:
        trial = study.ask()
        trial.set_user_attr(SCORE_ATTR, score)
        study.tell(trial, [a, b])
    study.tell(study.ask(), state=TrialState.FAIL)
    return study


@pytest.mark.parametrize("directions", [["maximize", "maximize"], ["minimize", "maximize"]])
def test_the_front_is_optunas(directions: list[str]) -> None:
    rng = np.random.default_rng(0)
    points = [(float(a), float(b), 0.0) for a, b in rng.integers(0, 6, (40, 2))]  # ties too
    study = _study(points, directions)
    mine = pareto_front(study.get_trials(), study.directions)
    assert [t.number for t in mine] == sorted(t.number for t in study.best_trials)


def test_the_chosen_member_is_the_front_s_highest_score_not_the_study_s() -> None:
    # trial 2 has the highest score, but trial 1 beats it on both objectives
    study = _study(
        [(0.3, 0.9, 0.50), (0.6, 0.6, 0.55), (0.5, 0.5, 0.90), (0.9, 0.1, 0.40)],
        [
            "maximize",
            "maximize",
        ],
    )
    assert [t.number for t in pareto_front(study.get_trials(), study.directions)] == [0, 1, 3]
    best = best_trial(study)
    assert best is not None and best.number == 1
    assert chosen([]) is None
    why = trial_choice(study, best, asked=False)
    assert why["why"] == f"{RULE} (3 of 4 complete trials are on it: 0, 1, 3)"
    assert why["values"] == [0.6, 0.6] and why["score"] == 0.55 and why["on_front"]
    off = trial_choice(study, study.trials[2], asked=True)
    assert not off["on_front"]
    assert off["why"] == (
        "asked for with --trial 2, which is not on the Pareto front (its members: trials 0, 1, 3)"
    )
    line = best_line(study.get_trials(), study.directions)
    assert line is not None and line.startswith("Pareto front: trials 0, 1, 3; highest score: ")
    assert "trial 1, values 0.6000 / 0.6000  score 0.5500" in line
    assert "values 0.5000 / 0.5000  score 0.9000" in trial_line(study.trials[2])


def test_a_study_of_one_score_keeps_its_best_trial() -> None:
    study = optuna.create_study(direction="maximize")
    for value in (0.2, 0.7, 0.7, 0.1):
        study.tell(study.ask(), value)
    trials: list[FrozenTrial] = study.get_trials()
    best = best_of(trials)
    assert best is not None and best.number == 1  # the first of a tie
    assert best_of(trials, [StudyDirection.MAXIMIZE]) is best
    assert trial_choice(study, trials[3], asked=True)["why"] == (
        "asked for with --trial 3 (the highest score is trial 1's, 0.7000)"
    )
    assert trial_choice(study, trials[1], asked=False)["why"] == "the highest score of its study"


def test_status_and_a_piped_display_read_a_pareto_study() -> None:
    # Optuna's FrozenTrial.value raises on several values, and a Pareto trial reports no
    # intermediate values: status names the chosen member, a pipe still gets each epoch's line.
    import io

    from rich.console import Console

    from harness.search.display import SearchDisplay, storage_status
    from harness.search.progress import EPOCH_SCORES

    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(
        study_name="p", storage=storage, directions=["maximize", "maximize"]
    )
    for a, b, score in [(0.3, 0.9, 0.50), (0.6, 0.6, 0.55), (0.5, 0.5, 0.90)]:
        trial = study.ask()
        trial.set_user_attr(SCORE_ATTR, score)
        study.tell(trial, [a, b])
    running = study.ask()
    running.set_user_attr(EPOCH_SCORES, [0.41, 0.47])
    lines = storage_status(storage)
    assert any("trial 1" in line for line in lines), lines  # the front's highest score
    out = io.StringIO()
    display = SearchDisplay(
        Console(file=out, width=200), study="p", target=5, directions=["maximize", "maximize"]
    )
    display.tick(study.get_trials())
    assert "epoch 2" in out.getvalue() and "best 0.4700" in out.getvalue()
