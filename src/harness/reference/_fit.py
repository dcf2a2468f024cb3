"""Fit both families over their small grids and choose each one's grid point by the study's own
score on val."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.data import DataError, Phase1Data
from harness.data.calendar import seen_bars_per_year
from harness.metrics import (
    ACCURACY,
    LOG_LOSS,
    MACRO_F1,
    BarsPerYear,
    calibration_metrics,
    combine_score,
    evaluate_split,
    horizon_score,
)
from harness.reference._features import fit_scaler, lagged_features
from harness.reference._models import FAMILIES, Family, Linear, Reference, Trees
from harness.reference._report import FamilyResult, GridPoint, HorizonResult, ReferenceReport

if TYPE_CHECKING:
    from harness.config import ScoreConfig
    from harness.config.run import ClassWeights

Say = Callable[[str], None]

# The grids: small on purpose, a baseline is not a study. Every horizon gets the same point.
LOGISTIC_GRID: tuple[dict[str, float | int], ...] = ({"C": 0.01}, {"C": 0.1}, {"C": 1.0})
LOGISTIC_FIXED: dict[str, float | int] = {"max_iter": 1000}  # lbfgs iterations, a cap
BOOSTING_GRID: tuple[dict[str, float | int], ...] = ({"max_iter": 100}, {"max_iter": 300})
# 63 bins, not sklearn's 255: fits 2.5 times as fast (split finding scans every bin of every
# input, 125 of them at 4 lags), at a val score within 0.005 on a 20-day demo
BOOSTING_FIXED: dict[str, float | int] = {"max_depth": 3, "learning_rate": 0.1, "max_bins": 63}
GRIDS: dict[Family, tuple[dict[str, float | int], ...]] = {
    "logistic": LOGISTIC_GRID,
    "boosting": BOOSTING_GRID,
}
_TERMS = {"timing": "timing PSR", "psr": "PSR", "annualized": "annualized Sharpe"}


def _quiet(_line: str) -> None:
    pass


@dataclass(frozen=True)
class _Split:
    """The rows of a split with a full history, their inputs, targets and weights."""

    rows: np.ndarray  # positions in the frame, ascending
    x: np.ndarray  # float64 [N, D]
    targets: dict[int, np.ndarray]  # class indices (label + 1) per horizon
    weights: dict[int, np.ndarray]  # Phase 1 sample weights per horizon


@dataclass(frozen=True)
class _Judge:
    """The study's score on the val rows."""

    val: _Split
    close: np.ndarray
    symbols: np.ndarray
    bars_per_year: BarsPerYear
    score: ScoreConfig

    def __call__(self, probs: Mapping[int, np.ndarray]) -> tuple[float, dict[int, dict[str, Any]]]:
        s = self.score
        per_horizon = evaluate_split(
            dict(probs),
            self.val.targets,
            self.close,
            self.symbols,
            bars_per_year=self.bars_per_year,
            cost_bps=s.cost_bps,
            positions=self.val.rows,
        )
        total = combine_score(
            per_horizon,
            sharpe_weight=s.sharpe_weight,
            f1_weight=s.f1_weight,
            horizons=s.horizons,
            reduce=s.reduce,
            sharpe_term=s.sharpe_term,
        )
        for h, metrics in per_horizon.items():
            metrics.update(calibration_metrics(self.val.targets[h], probs[h]))
            metrics["score"] = horizon_score(
                metrics,
                sharpe_weight=s.sharpe_weight,
                f1_weight=s.f1_weight,
                sharpe_term=s.sharpe_term,
            )
        return total, per_horizon


def fit_references(
    data: Phase1Data,
    *,
    lags: int = 4,
    score: ScoreConfig | None = None,
    class_weights: ClassWeights = "balanced",
    say: Say = _quiet,
) -> ReferenceReport:
    """Fit a multinomial logistic regression and boosted trees per horizon on the train rows,
    for each point of their grids, and keep per family the point with the highest val score
    (`score`, default ``ScoreConfig()``: the study's). `class_weights`: "balanced" (each
    class's weight total / (3 x its Phase 1 weight), sklearn's "balanced" with sample weights)
    or "none"; either way times the Phase 1 sample weights. `say` hears each grid point."""
    from harness.config import ScoreConfig

    started = time.perf_counter()
    score = ScoreConfig() if score is None else score
    if class_weights not in ("balanced", "none"):
        raise ValueError(f"class_weights must be 'balanced' or 'none', got {class_weights!r}")
    mean, scale = fit_scaler(data)
    x, has = lagged_features(data.frame, data.feature_names, mean, scale, lags=lags)
    train, val = (_split(data, x, rows[has[rows]], lags, name) for name, rows in _splits(data))
    judge = _Judge(
        val=val,
        close=data.frame["close"].to_numpy(np.float64)[val.rows],
        symbols=data.frame["symbol"].astype(str).to_numpy()[val.rows],
        bars_per_year=seen_bars_per_year(data),
        score=score,
    )

    families = {}
    for family in FAMILIES:
        t0 = time.perf_counter()
        say(
            f"fitting {family} models: {len(GRIDS[family])} grid points x "
            f"{len(data.horizons)} horizons on {len(train.rows):,} train rows "
            f"({x.shape[1]} inputs each)"
        )
        fits = (_logistic_fits if family == "logistic" else _boosting_fits)(train, class_weights)
        points = []
        for params, models, seconds in fits:  # as each grid point is fit
            ref = Reference(
                family=family,
                params={**params, **_fixed(family)},
                feature_names=data.feature_names,
                lags=lags,
                mean=mean,
                scale=scale,
                class_weights=class_weights,
                models=models,
            )
            total, per_horizon = judge(ref.proba(val.x))
            points.append(
                (GridPoint(params, total, sum(seconds.values())), ref, per_horizon, seconds)
            )
            say(f"{family} {_label(params)}: val score {total:.4f} ({sum(seconds.values()):.1f} s)")
        best = max(range(len(points)), key=lambda k: points[k][0].score)  # the first of ties
        point, ref, per_horizon, seconds = points[best]
        families[family] = FamilyResult(
            family=family,
            params=point.params,
            score=point.score,
            horizons={
                h: HorizonResult(m[MACRO_F1], m[ACCURACY], m[LOG_LOSS], m["score"], seconds[h])
                for h, m in per_horizon.items()
            },
            grid=tuple(p[0] for p in points),
            seconds=time.perf_counter() - t0,
            reference=ref,
        )
    return ReferenceReport(
        families=families,
        best=max(FAMILIES, key=lambda f: families[f].score),
        lags=lags,
        class_weights=class_weights,
        n_train=len(train.rows),
        n_val=len(val.rows),
        dropped={"train": len(data.train) - len(train.rows), "val": len(data.val) - len(val.rows)},
        score_rule=score_rule(score, data.horizons),
        seconds=time.perf_counter() - started,
    )


def score_rule(score: ScoreConfig, horizons: tuple[int, ...]) -> str:
    chosen = ", ".join(map(str, score.horizons or horizons))
    return (
        f"{score.reduce} over horizons {chosen} of {score.sharpe_weight:g} x "
        f"{_TERMS.get(score.sharpe_term, score.sharpe_term)} + {score.f1_weight:g} x macro-F1 "
        f"({score.cost_bps:g} bp a side)"
    )


def balanced_weights(y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """[N] per-row class weights: total weight / (classes present x the class's weight), what
    sklearn's class_weight="balanced" gives with sample weights (``compute_class_weight``)."""
    totals = np.bincount(y, weights=weights, minlength=3)
    present = np.flatnonzero(totals > 0)
    per_class = np.zeros(3)
    per_class[present] = totals.sum() / (len(present) * totals[present])
    return per_class[y]


def _splits(data: Phase1Data) -> tuple[tuple[str, np.ndarray], ...]:
    return (("train", data.train), ("val", data.val))


def _split(data: Phase1Data, x: np.ndarray, rows: np.ndarray, lags: int, name: str) -> _Split:
    if not len(rows):
        raise DataError(
            f"no {name} row has {lags} rows of history in its symbol (features finite): "
            "use fewer --lags"
        )
    frame = data.frame
    targets, weights = {}, {}
    for h in data.horizons:
        y = frame[f"label_{h}"].to_numpy(dtype=np.float64)[rows].astype(np.int64) + 1
        if name == "train" and len(np.unique(y)) < 2:
            raise DataError(f"label_{h}: the train rows hold one class only; nothing to fit")
        targets[h] = y
        weights[h] = frame[f"sample_weight_{h}"].to_numpy(dtype=np.float64)[rows]
    return _Split(rows, x[rows].astype(np.float64), targets, weights)


def _row_weights(split: _Split, h: int, class_weights: str) -> np.ndarray:
    w = split.weights[h]
    return w * balanced_weights(split.targets[h], w) if class_weights == "balanced" else w


Fits = Iterator[tuple[dict[str, float | int], dict[int, Linear | Trees], dict[int, float]]]


def _logistic_fits(train: _Split, class_weights: str) -> Fits:
    """Each C, each horizon: a multinomial logistic regression (lbfgs) from scratch."""
    from sklearn.linear_model import LogisticRegression

    for params in LOGISTIC_GRID:
        models: dict[int, Linear | Trees] = {}
        seconds = {}
        for h, y in train.targets.items():
            t0 = time.perf_counter()
            model = LogisticRegression(C=params["C"], solver="lbfgs", **LOGISTIC_FIXED)
            model.fit(train.x, y, sample_weight=_row_weights(train, h, class_weights))
            models[h], seconds[h] = Linear.from_sklearn(model), time.perf_counter() - t0
        yield params, models, seconds


def _boosting_fits(train: _Split, class_weights: str) -> Fits:
    """One fit of the most iterations per horizon; each smaller max_iter is its first trees,
    exactly what a fit of that many gives (no early stopping, no subsampling: tests say so).
    Every grid point is charged that one fit's seconds."""
    most = max(int(p["max_iter"]) for p in BOOSTING_GRID)
    full: dict[int, Trees] = {}
    seconds = {}
    for h, y in train.targets.items():
        t0 = time.perf_counter()
        model = boosting_model(most)
        model.fit(train.x, y, sample_weight=_row_weights(train, h, class_weights))
        full[h], seconds[h] = Trees.from_sklearn(model), time.perf_counter() - t0
    for params in BOOSTING_GRID:
        yield params, {h: t.first(int(params["max_iter"])) for h, t in full.items()}, seconds


def boosting_model(max_iter: int) -> Any:
    """The grid's HistGradientBoostingClassifier at `max_iter`."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=max_iter, early_stopping=False, random_state=0, **BOOSTING_FIXED
    )


def _fixed(family: Family) -> dict[str, float | int]:
    return dict(LOGISTIC_FIXED if family == "logistic" else BOOSTING_FIXED)


def _label(params: Mapping[str, float | int]) -> str:
    return ",".join(f"{k}={v:g}" for k, v in params.items())
