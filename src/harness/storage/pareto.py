"""The trial a study stands for: its highest score, or one chosen member of its Pareto front.

A study of the score has one best trial: the complete trial of the highest value. A Pareto
search (an objective with `directions:`) has a front instead: the complete trials that no other
complete trial matches or beats on every objective and beats on one (Optuna's
``Study.best_trials``). finalize, ``harness status`` and the search's display stand the study
for one member of it, chosen by one rule (``chosen``): **the member of the highest score**, the
single-objective score the objective's `score:` defines, which every trial records as its user
attribute ``score``.

Why that rule: the score is the yardstick the study already uses inside each trial (it picks
the epoch a trial keeps and stops it early), so the exported member is the front's best by the
one number the objective file names; and where the score weighs each objective positively (the
shipped pareto.yaml: macro-F1 and timing PSR), the trial of the highest score is on the front
anyway, so the rule picks the point where the score's trade-off touches the front. A knee
point would need the objectives on one scale, which a macro-F1 and a probability are not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

SCORE_ATTR = "score"  # trial user attribute: the single-objective score of its kept epoch
RULE = "the member of the Pareto front with the highest score"


def is_pareto(directions: Sequence[StudyDirection]) -> bool:
    return len(directions) > 1


def score_of(trial: FrozenTrial) -> float:
    """The single-objective score of a complete trial: its value, or in a Pareto search its
    recorded ``score``."""
    values = trial.values or []
    if len(values) == 1:
        return float(values[0])
    return float(trial.user_attrs[SCORE_ATTR])


def pareto_front(
    trials: Iterable[FrozenTrial], directions: Sequence[StudyDirection]
) -> list[FrozenTrial]:
    """The complete trials that no other complete trial dominates (at least as good on every
    objective, better on one), in trial order: ``Study.best_trials`` of these trials (Optuna
    computes it only for a whole study; the display here has a list of frozen trials)."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.values is not None]
    signs = [1.0 if d == StudyDirection.MAXIMIZE else -1.0 for d in directions]
    points = [[s * v for s, v in zip(signs, t.values, strict=True)] for t in complete]

    def dominated(p: list[float]) -> bool:
        return any(q != p and all(a >= b for a, b in zip(q, p, strict=True)) for q in points)

    return [t for t, p in zip(complete, points, strict=True) if not dominated(p)]


def chosen(front: Sequence[FrozenTrial]) -> FrozenTrial | None:
    """The member of `front` with the highest score (the first such trial on a tie)."""
    return max(front, key=score_of) if front else None


def _names(study: optuna.Study) -> list[str]:
    return study.metric_names or [f"objective {k}" for k in range(len(study.directions))]


def trial_choice(study: optuna.Study, trial: FrozenTrial, *, asked: bool) -> dict[str, Any]:
    """Why `trial` stands for `study` (`asked`: named with ``--trial``): what the metrics JSON
    records, its ``why`` a sentence for the report."""
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if not is_pareto(study.directions):
        best = max(complete, key=score_of)
        why = (
            "the highest score of its study"
            if not asked or best.number == trial.number
            else f"asked for with --trial {trial.number} (the highest score is trial "
            f"{best.number}'s, {score_of(best):.4f})"
        )
        return {"pareto": False, "asked": asked, "score": score_of(trial), "why": why}
    front = pareto_front(trials, study.directions)
    members = [t.number for t in front]
    on_front = trial.number in members
    listed = ", ".join(map(str, members))
    if not asked:
        why = f"{RULE} ({len(front)} of {len(complete)} complete trials are on it: {listed})"
    elif on_front:
        why = f"asked for with --trial {trial.number}, a member of the Pareto front ({listed})"
    else:
        why = (
            f"asked for with --trial {trial.number}, which is not on the Pareto front "
            f"(its members: trials {listed})"
        )
    names = _names(study)
    return {
        "pareto": True,
        "asked": asked,
        "rule": RULE,
        "objectives": names,
        "directions": [d.name.lower() for d in study.directions],
        "values": list(trial.values or []),
        "score": score_of(trial),
        "front": members,
        "on_front": on_front,
        "why": why,
    }
