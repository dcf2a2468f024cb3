"""What ``harness reference`` found: per family its chosen grid point and val metrics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.reference._models import Family, Reference


@dataclass(frozen=True)
class HorizonResult:
    """One horizon of a family at its chosen grid point, on the val rows."""

    macro_f1: float
    accuracy: float
    log_loss: float
    score: float  # the horizon's term of the score: sharpe_weight * S + f1_weight * macro-F1
    fit_seconds: float  # fitting this horizon's model


@dataclass(frozen=True)
class GridPoint:
    params: Mapping[str, float | int]
    score: float  # the study's score on val
    fit_seconds: float  # fitting its models, every horizon


@dataclass(frozen=True)
class FamilyResult:
    family: Family
    params: Mapping[str, float | int]  # the chosen grid point: the highest val score
    score: float
    horizons: Mapping[int, HorizonResult]
    grid: tuple[GridPoint, ...]  # every grid point, in the grid's order
    seconds: float  # fitting and scoring the whole grid
    reference: Reference = field(repr=False, compare=False)  # fitted at the chosen point


@dataclass(frozen=True)
class ReferenceReport:
    """Both families, and the best: the one with the highest val score."""

    families: Mapping[Family, FamilyResult]
    best: Family
    lags: int
    class_weights: str
    n_train: int  # train rows fit on
    n_val: int  # val rows scored
    dropped: Mapping[str, int]  # rows of each split without a full history: not fit, not scored
    score_rule: str  # the score, in words
    seconds: float

    @property
    def reference(self) -> Reference:
        """The best family's fitted model."""
        return self.families[self.best].reference

    def lines(self) -> list[str]:
        """A small table: a header, a row per family and horizon, the grid, the best."""
        head = (
            f"{'family':<9} {'grid point':<13} {'score':>7} {'horizon':>7} {'macro-F1':>8} "
            f"{'accuracy':>8} {'log-loss':>8} {'h score':>7} {'fit s':>6}"
        )
        out = [
            f"reference models: each row's features and its symbol's {self.lags} rows before "
            f"it; class weights {self.class_weights}",
            f"rows: {self.n_train:,} train, {self.n_val:,} val; dropped for lack of "
            f"{self.lags} rows of history: {self.dropped['train']:,} train, "
            f"{self.dropped['val']:,} val",
            f"score: {self.score_rule}",
            head,
        ]
        for name, fam in self.families.items():
            for k, (h, r) in enumerate(sorted(fam.horizons.items())):
                first = f"{name:<9} {_params(fam.params):<13} {fam.score:>7.4f}"
                out.append(
                    f"{first if k == 0 else '':<31} {h:>7} {r.macro_f1:>8.4f} {r.accuracy:>8.4f} "
                    f"{r.log_loss:>8.4f} {r.score:>7.4f} {r.fit_seconds:>6.1f}"
                )
        grid = "; ".join(
            f"{name} " + ", ".join(f"{_params(g.params)} {g.score:.4f}" for g in fam.grid)
            for name, fam in self.families.items()
        )
        out.append(f"val score per grid point: {grid}")
        if "boosting" in self.families:
            out.append("(boosting's fit s: one fit of its most iterations; fewer are its first)")
        out.append(
            f"best: {self.best}, val score {self.families[self.best].score:.4f} "
            f"({self.seconds:.0f} s in all): the bar a deep model has to beat"
        )
        return out


def _params(params: Mapping[str, float | int]) -> str:
    return ",".join(f"{k}={v:g}" for k, v in params.items())
