"""The reference model file: one JSON document, no pickle.

    {"format": "harness-reference", "version": 1, "family": "logistic" | "boosting",
     "params": {grid point}, "lags": k, "class_weights": "balanced" | "none",
     "feature_names": [F names], "inputs": [(k + 1) * F names, oldest row first],
     "scaler": {"mean": [F], "scale": [F]},
     "models": {"<horizon>": logistic: {"classes", "coef" [K][D], "intercept" [K]}
                            boosting: {"classes", "baseline" [T],
                                       "trees": [per iteration: [T trees: {node arrays}]]}}}

A tree's node arrays are sklearn's (``TreePredictor.nodes``) less what prediction does not read:
value, feature_idx, num_threshold, missing_go_to_left (0/1), left, right (indices into the
tree's own arrays), is_leaf (0/1). Floats are written as Python's shortest repr, which reads
back to the same float64; the file holds only strict JSON (a non-finite float, as a split on
missing values may hold, is the string "inf", "-inf" or "nan"). Reading one back therefore
gives the same arrays, bit for bit, and the same probabilities.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, cast

import numpy as np

from harness.errors import HarnessError
from harness.reference._models import FAMILIES, Family, Linear, Reference, Trees

FORMAT = "harness-reference"
VERSION = 1
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
_INTS = ("feature_idx", "left", "right")
_FLAGS = ("missing_go_to_left", "is_leaf")


class ReferenceFileError(HarnessError):
    """A reference model file that cannot be read: the message names it and what is wrong."""


def save_reference(path: Path, ref: Reference) -> Path:
    """Write `ref` to `path` (JSON; replaced atomically: a reader sees the old file or the new
    one). Returns the path."""
    path = Path(path)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "family": ref.family,
        "params": dict(ref.params),
        "lags": ref.lags,
        "class_weights": ref.class_weights,
        "feature_names": list(ref.feature_names),
        "inputs": list(ref.inputs),
        "scaler": {"mean": _floats(ref.mean), "scale": _floats(ref.scale)},
        "models": {str(h): _model(m) for h, m in sorted(ref.models.items())},
    }
    text = json.dumps(document, allow_nan=False, separators=(",", ":")) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_reference(path: Path) -> Reference:
    """Read a file ``save_reference`` wrote; ReferenceFileError if it is not one."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReferenceFileError(f"{path}: not a reference model file (not JSON: {exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ReferenceFileError(f"{path}: not a reference model file (no format {FORMAT!r})")
    if document.get("version") != VERSION:
        raise ReferenceFileError(
            f"{path}: reference model file version {document.get('version')!r}; this harness "
            f"reads version {VERSION}"
        )
    try:
        return _reference(document)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ReferenceFileError(f"{path}: a broken reference model file ({exc!r})") from None


def _reference(doc: dict[str, Any]) -> Reference:
    family = doc["family"]
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}")
    names = tuple(str(n) for n in doc["feature_names"])
    mean, scale = _array(doc["scaler"]["mean"]), _array(doc["scaler"]["scale"])
    if mean.shape != (len(names),) or scale.shape != (len(names),):
        raise ValueError("the scaler does not match the feature names")
    read = _linear if family == "logistic" else _trees
    ref = Reference(
        family=cast(Family, family),
        params={str(k): v for k, v in doc["params"].items()},
        feature_names=names,
        lags=int(doc["lags"]),
        mean=mean,
        scale=scale,
        class_weights=str(doc["class_weights"]),
        models={int(h): read(m) for h, m in doc["models"].items()},
    )
    if list(ref.inputs) != doc["inputs"]:
        raise ValueError("the inputs do not match the feature names and lags")
    for h, model in ref.models.items():
        width = model.coef.shape[1] if isinstance(model, Linear) else len(ref.inputs)
        if width != len(ref.inputs) or (
            isinstance(model, Trees) and (model.feature[~model.is_leaf] >= width).any()
        ):
            raise ValueError(f"the model of horizon {h} reads inputs the file does not name")
    return ref


def _model(model: Linear | Trees) -> dict[str, Any]:
    if isinstance(model, Linear):
        return {
            "classes": model.classes.tolist(),
            "coef": _floats(model.coef),
            "intercept": _floats(model.intercept),
        }
    per_iteration = model.roots.shape[1]
    trees = [_tree(t) for t in model.tree_nodes()]
    return {
        "classes": model.classes.tolist(),
        "baseline": _floats(model.baseline),
        "trees": [trees[i : i + per_iteration] for i in range(0, len(trees), per_iteration)],
    }


def _tree(nodes: dict[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {"value": _floats(nodes["value"])}
    out["num_threshold"] = _floats(nodes["num_threshold"])
    out.update({k: nodes[k].astype(np.int64).tolist() for k in (*_INTS, *_FLAGS)})
    return out


def _linear(doc: dict[str, Any]) -> Linear:
    model = Linear(
        classes=_classes(doc["classes"]),
        coef=_array(doc["coef"]),
        intercept=_array(doc["intercept"]),
    )
    rows = 1 if len(model.classes) == 2 else len(model.classes)
    if model.coef.ndim != 2 or len(model.coef) != rows or model.intercept.shape != (rows,):
        raise ValueError("coef and intercept do not match the classes")
    return model


def _trees(doc: dict[str, Any]) -> Trees:
    classes = _classes(doc["classes"])
    baseline = _array(doc["baseline"])
    per_iteration = 1 if len(classes) == 2 else len(classes)
    if baseline.shape != (per_iteration,):
        raise ValueError("the baseline does not match the classes")
    trees = [
        [
            {
                "value": _array(t["value"]),
                "num_threshold": _array(t["num_threshold"]),
                **{k: np.asarray(t[k], np.int64) for k in _INTS},
                **{k: np.asarray(t[k], np.int64).astype(bool) for k in _FLAGS},
            }
            for t in iteration
        ]
        for iteration in doc["trees"]
    ]
    if any(len(iteration) != per_iteration for iteration in trees):
        raise ValueError(f"each iteration must hold {per_iteration} trees")
    for tree in (t for iteration in trees for t in iteration):
        if len({len(v) for v in tree.values()}) != 1 or not len(tree["value"]):
            raise ValueError("a tree's node arrays differ in length")
    return Trees.from_nodes(classes, baseline, trees)


def _classes(values: list[Any]) -> np.ndarray:
    classes = np.asarray(values, dtype=np.int64)
    if classes.ndim != 1 or len(classes) < 2 or len(set(classes.tolist())) != len(classes):
        raise ValueError(f"classes must be 2 or 3 distinct class indices, got {values}")
    if classes.min() < 0 or classes.max() > 2:
        raise ValueError(f"classes must be 0, 1 or 2, got {values}")
    return classes


def _floats(a: np.ndarray) -> Any:
    """float64 values as JSON: nested lists of floats, a non-finite one as a string."""

    def one(v: Any) -> Any:
        if isinstance(v, list):
            return [one(x) for x in v]
        return v if math.isfinite(v) else str(v)  # "inf", "-inf", "nan"

    return one(np.asarray(a, dtype=np.float64).tolist())


def _array(values: Any) -> np.ndarray:
    def one(v: Any) -> Any:
        if isinstance(v, list):
            return [one(x) for x in v]
        if isinstance(v, str):
            return _NON_FINITE[v]
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise TypeError(f"expected a number, got {v!r}")
        return float(v)

    return np.asarray(one(values), dtype=np.float64)
