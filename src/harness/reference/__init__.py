"""The reference models: the bar to beat. The simplest honest baselines a quant runs first, on
the same data contract, the same rows and the same score as the deep models.

- Inputs (``lagged_features``): each row's features, standardized with the train rows'
  statistics exactly as ``harness.data.prepare`` does, and those of the `lags` rows before it in
  its own symbol (default 4): a deep model's window of lags + 1 rows, flattened. Rows without
  that history (a symbol's first rows, rows after missing features) are not fit and get no
  prediction; the report counts them.
- Models, one per horizon, fit on the (purged) train rows with the Phase 1 sample weights
  times class weights ("balanced" by default: macro-F1 weighs every class the same):
  a multinomial logistic regression (lbfgs), C in {0.01, 0.1, 1.0}; and scikit-learn's
  HistGradientBoostingClassifier, max_depth 3, learning rate 0.1, 63 bins, max_iter in {100,
  300}, no early stopping (the 100-iteration model is the first 100 iterations of the 300 fit).
- Choice: per family the grid point with the highest score on the val rows, the study's own
  (``metrics.evaluate_split`` then ``metrics.combine_score`` with a ``ScoreConfig``, default
  the objective's default); the best reference is the family with the higher score.
- The model file (``save_reference``/``load_reference``) is JSON, never a pickle: the scaler,
  the feature names, the lags and per horizon the coefficients, or the trees' node arrays
  (sklearn's ``_predictors``). Written by hand rather than with skops: a logistic regression
  and a tree are a few arrays, the file stays readable by anything that reads JSON, predicting
  needs numpy only (``Reference.predict_proba``), and no extra dependency is needed; it
  matches sklearn's own probabilities to 1e-12, which the tests check on every fit, so a
  change of sklearn's internals is caught there rather than in a model file.
"""

from __future__ import annotations

from harness.reference._features import fit_scaler, lag_names, lagged_features
from harness.reference._file import ReferenceFileError, load_reference, save_reference
from harness.reference._fit import (
    BOOSTING_FIXED,
    BOOSTING_GRID,
    GRIDS,
    LOGISTIC_FIXED,
    LOGISTIC_GRID,
    balanced_weights,
    boosting_model,
    fit_references,
)
from harness.reference._models import FAMILIES, Family, Linear, Reference, Trees
from harness.reference._report import FamilyResult, GridPoint, HorizonResult, ReferenceReport

__all__ = [
    "BOOSTING_FIXED",
    "BOOSTING_GRID",
    "FAMILIES",
    "GRIDS",
    "LOGISTIC_FIXED",
    "LOGISTIC_GRID",
    "Family",
    "FamilyResult",
    "GridPoint",
    "HorizonResult",
    "Linear",
    "Reference",
    "ReferenceFileError",
    "ReferenceReport",
    "Trees",
    "balanced_weights",
    "boosting_model",
    "fit_references",
    "fit_scaler",
    "lag_names",
    "lagged_features",
    "load_reference",
    "save_reference",
]
