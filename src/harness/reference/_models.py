"""A fitted reference model as plain arrays, and its class probabilities in numpy.

Neither scikit-learn nor pickle is needed to predict: a logistic regression is its coefficients
and intercepts, boosted trees are their node arrays (what sklearn's fitted
HistGradientBoostingClassifier keeps in ``_predictors``: per node its value, feature,
threshold, side for missing values, children and whether it is a leaf) and the baseline
prediction. Both predict as sklearn does, to rounding (1e-12; tests/reference say so): the
decision function (``X @ coef.T + intercept``; baseline plus the leaves' values, added iteration
by iteration in sklearn's order), then the softmax (3 classes) or the logistic function (2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from harness.data import N_CLASSES, Phase1Data
from harness.reference._features import lag_names, lagged_features

Family = Literal["logistic", "boosting"]
FAMILIES: tuple[Family, ...] = ("logistic", "boosting")
_CHUNK = 2048  # rows per pass through the trees: [rows, trees] index arrays stay small


@dataclass(frozen=True, eq=False)
class Linear:
    """One horizon's logistic regression: classes [K] (class indices it was fit on), coef
    [K, D] and intercept [K] (a single row for 2 classes, as sklearn keeps them)."""

    classes: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    @classmethod
    def from_sklearn(cls, model: Any) -> Linear:
        return cls(
            classes=np.asarray(model.classes_, np.int64),
            coef=np.asarray(model.coef_, np.float64),
            intercept=np.asarray(model.intercept_, np.float64),
        )

    def raw(self, x: np.ndarray) -> np.ndarray:
        return x @ self.coef.T + self.intercept  # [N, K] (or [N, 1])


@dataclass(frozen=True, eq=False)
class Trees:
    """One horizon's boosted trees. `roots` [n_iter, T]: each tree's root in the node arrays
    (T = K trees per iteration; 1 for 2 classes); the node arrays are every tree's nodes, tree
    after tree, children indexing the arrays themselves; `baseline` [T]."""

    classes: np.ndarray
    baseline: np.ndarray
    roots: np.ndarray
    value: np.ndarray  # float64: a leaf's contribution
    feature: np.ndarray  # int64: the input a split reads
    threshold: np.ndarray  # float64: go left where x <= threshold
    missing_left: np.ndarray  # bool: where NaN goes
    left: np.ndarray  # int64
    right: np.ndarray  # int64
    is_leaf: np.ndarray  # bool
    depth: int  # steps from a root to its deepest leaf, the most over the trees

    @classmethod
    def from_sklearn(cls, model: Any) -> Trees:
        """From a fitted HistGradientBoostingClassifier (its ``_predictors``, read-only)."""
        keys = ("value", "feature_idx", "num_threshold", "missing_go_to_left", "left", "right")
        trees: list[list[dict[str, np.ndarray]]] = []
        for per_iteration in model._predictors:
            trees.append([])
            for predictor in per_iteration:
                nodes = predictor.nodes  # a structured array, one record per node
                if nodes["is_categorical"].any():
                    raise ValueError("categorical splits are not supported")
                tree = {k: np.array(nodes[k]) for k in keys}
                trees[-1].append({**tree, "is_leaf": nodes["is_leaf"].astype(bool)})
        return cls.from_nodes(
            np.asarray(model.classes_, np.int64),
            np.asarray(model._baseline_prediction, np.float64).reshape(-1),
            trees,
        )

    @classmethod
    def from_nodes(
        cls, classes: np.ndarray, baseline: np.ndarray, trees: Sequence[Sequence[Mapping[str, Any]]]
    ) -> Trees:
        """From each tree's own node arrays (children indexing the tree), per iteration."""
        flat = [tree for per_iteration in trees for tree in per_iteration]
        sizes = np.array([len(t["value"]) for t in flat], dtype=np.int64)
        offsets = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)

        def joined(key: str, dtype: Any) -> np.ndarray:
            return np.concatenate([np.asarray(t[key], dtype) for t in flat]).astype(dtype)

        if not flat:
            raise ValueError("a model of boosted trees needs at least one tree")
        is_leaf = joined("is_leaf", bool)
        own = np.arange(int(sizes.sum()))
        base = np.repeat(offsets, sizes)
        left = np.where(is_leaf, own, joined("left", np.int64) + base)
        right = np.where(is_leaf, own, joined("right", np.int64) + base)
        return cls(
            classes=classes,
            baseline=baseline,
            roots=offsets.reshape(len(trees), -1),
            value=joined("value", np.float64),
            feature=joined("feature_idx", np.int64),
            threshold=joined("num_threshold", np.float64),
            missing_left=joined("missing_go_to_left", bool),
            left=left,
            right=right,
            is_leaf=is_leaf,
            depth=_depth(is_leaf, left, right, np.repeat(offsets + sizes, sizes)),
        )

    def tree_nodes(self) -> list[dict[str, np.ndarray]]:
        """Each tree's own node arrays (children indexing the tree), iteration by iteration:
        ``from_nodes``' input, what the model file stores."""
        starts = self.roots.reshape(-1)
        stops = np.r_[starts[1:], len(self.value)]
        out = []
        for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
            leaf = self.is_leaf[start:stop]
            out.append(
                {
                    "value": self.value[start:stop],
                    "feature_idx": self.feature[start:stop],
                    "num_threshold": self.threshold[start:stop],
                    "missing_go_to_left": self.missing_left[start:stop],
                    "left": np.where(leaf, 0, self.left[start:stop] - start),
                    "right": np.where(leaf, 0, self.right[start:stop] - start),
                    "is_leaf": leaf,
                }
            )
        return out

    def first(self, n_iter: int) -> Trees:
        """The model of the first `n_iter` iterations: what the same fit with max_iter=n_iter
        gives (boosting adds trees; without early stopping the first ones do not change)."""
        if not 1 <= n_iter <= len(self.roots):
            raise ValueError(f"n_iter must be in 1..{len(self.roots)}, got {n_iter}")
        end = int(self.roots[n_iter].min()) if n_iter < len(self.roots) else len(self.value)
        return Trees(
            classes=self.classes,
            baseline=self.baseline,
            roots=self.roots[:n_iter],
            value=self.value[:end],
            feature=self.feature[:end],
            threshold=self.threshold[:end],
            missing_left=self.missing_left[:end],
            left=self.left[:end],
            right=self.right[:end],
            is_leaf=self.is_leaf[:end],
            depth=self.depth,
        )

    def raw(self, x: np.ndarray) -> np.ndarray:
        n_iter, per_iteration = self.roots.shape
        out = np.zeros((len(x), per_iteration))
        out += self.baseline
        for start in range(0, len(x), _CHUNK):
            leaves = self._leaf_values(x[start : start + _CHUNK])  # [n, n_iter, T]
            block = out[start : start + _CHUNK]
            for i in range(n_iter):  # sklearn's order of additions, so its rounding
                block += leaves[:, i, :]
        return out

    def _leaf_values(self, x: np.ndarray) -> np.ndarray:
        """The value of the leaf each row reaches in each tree: [n, n_iter, T]."""
        n = len(x)
        node = np.broadcast_to(self.roots.reshape(1, -1), (n, self.roots.size)).copy()
        row = np.arange(n)[:, None]
        for _ in range(self.depth):
            leaf = self.is_leaf[node]
            if leaf.all():
                break
            v = x[row, self.feature[node]]
            go_left = np.where(np.isnan(v), self.missing_left[node], v <= self.threshold[node])
            node = np.where(leaf, node, np.where(go_left, self.left[node], self.right[node]))
        return self.value[node].reshape(n, *self.roots.shape)


def _depth(is_leaf: np.ndarray, left: np.ndarray, right: np.ndarray, ends: np.ndarray) -> int:
    """Steps from a root to its deepest leaf, over every tree; ValueError where a child is not
    after its parent in its own tree (sklearn's order, which also rules out cycles). `ends`
    [n_nodes]: where each node's tree ends."""
    inner = np.flatnonzero(~is_leaf)
    for child in (left[inner], right[inner]):
        if ((child <= inner) | (child >= ends[inner])).any():
            raise ValueError("a tree's children must come after their parent, in its tree")
    depth = np.zeros(len(is_leaf), dtype=np.int64)  # roots: 0
    for k in inner:  # parents before children: one pass in index order
        depth[left[k]] = depth[right[k]] = depth[k] + 1
    return int(depth.max()) if len(depth) else 0


def probabilities(raw: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """[N, 3] float64 from a decision function [N, K] (softmax) or [N, 1] (2 classes: the
    logistic function), computed as sklearn does; 0 for a class the model never saw."""
    if raw.shape[1] == 1:
        p1 = 1.0 / (1.0 + np.exp(-raw[:, 0]))
        known = np.stack([1.0 - p1, p1], axis=1)
    else:
        known = np.exp(raw - raw.max(axis=1, keepdims=True))
        known /= known.sum(axis=1, keepdims=True)
    out = np.zeros((len(raw), N_CLASSES))
    out[:, classes] = known
    return out


@dataclass(frozen=True, eq=False)
class Reference:
    """A fitted reference model: one family at one grid point, one model per horizon, and what
    turns bars into its inputs (the train scaler, the feature names, the lags)."""

    family: Family
    params: Mapping[str, float | int]  # the grid point
    feature_names: tuple[str, ...]
    lags: int
    mean: np.ndarray  # [F] the train rows' feature means
    scale: np.ndarray  # [F] and standard deviations (sklearn's scale_)
    class_weights: str  # "balanced" or "none", as fit
    models: Mapping[int, Linear | Trees]  # per horizon

    @property
    def horizons(self) -> tuple[int, ...]:
        return tuple(sorted(self.models))

    @property
    def inputs(self) -> tuple[str, ...]:
        """The names of the model's inputs (``lag_names``)."""
        return lag_names(self.feature_names, self.lags)

    def features(
        self, source: pd.DataFrame | Phase1Data, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(X float32 [N, D], has bool [N]) of `rows` of `source`: ``lagged_features`` with this
        model's scaler and lags."""
        frame = source.frame if isinstance(source, Phase1Data) else source
        return lagged_features(
            frame, self.feature_names, self.mean, self.scale, lags=self.lags, rows=rows
        )

    def predict_proba(
        self, source: pd.DataFrame | Phase1Data, rows: np.ndarray | None = None
    ) -> dict[int, np.ndarray]:
        """Class probabilities {horizon: float32 [N, 3]} (classes 0 short, 1 flat, 2 long) of
        `rows` of `source` (positions in its frame; default every row); NaN rows where a row
        has no full history (lags rows of its own symbol before it, features finite)."""
        x, has = self.features(source, rows)
        found = self.proba(x[has])
        out = {}
        for h, p in found.items():
            full = np.full((len(x), N_CLASSES), np.nan, dtype=np.float32)
            full[has] = p
            out[h] = full
        return out

    def proba(self, x: np.ndarray) -> dict[int, np.ndarray]:
        """{horizon: float64 [N, 3]} from inputs X [N, D] (rows with a full history)."""
        x64 = np.asarray(x, dtype=np.float64)  # what sklearn fit on
        if x64.ndim != 2 or x64.shape[1] != len(self.inputs):
            raise ValueError(f"expected inputs [N, {len(self.inputs)}], got {x64.shape}")
        return {h: probabilities(m.raw(x64), m.classes) for h, m in sorted(self.models.items())}
