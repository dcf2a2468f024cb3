"""Every complete trial's val predictions, kept in Optuna's artifact store, and what they show:
the probability of backtest overfitting (PBO) of picking the study's best trial.

A trial's best epoch predicted a class for each val row at each horizon. Stored as one int8 per
row and horizon, [N_val, H] in the order of the val split file, -1 where the trial predicted
nothing (a row without a full window at its seq_len, or beyond a capped evaluation), in a
compressed ``.npz``: 300 kB raw for 100,000 rows and 3 horizons, less after compression
(``README``: measured sizes). The store is ``optuna.artifacts.FileSystemArtifactStore`` on a
folder: by default ``artifacts/`` beside a SQLite file, else ``--artifacts DIR`` or
``$HARNESS_ARTIFACTS`` (a folder every machine of a PostgreSQL study mounts). The trial's user
attribute ``val_predictions`` names the artifact.

A complete trial also stores its epoch log (``epoch_log.json``: every epoch's losses, score and
nested train and val metrics per horizon), named by its attribute ``epoch_log``; optuna-dashboard
links both from the trial's page. Finalize stores its reports on the study (``store_files``).

PBO (``metrics.probability_of_backtest_overfitting``, CSCV): the trials' per-row strategy
returns on the val rows that all of them predicted, one column per trial, cut into S blocks.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.artifacts import FileSystemArtifactStore, download_artifact, upload_artifact
from optuna.artifacts.exceptions import ArtifactNotFound
from optuna.trial import FrozenTrial, TrialState

from harness.constants import DEFAULT_BLOCKS
from harness.data import Phase1Data
from harness.errors import HarnessError
from harness.metrics import probability_of_backtest_overfitting, trial_returns
from harness.serialize import jsonable
from harness.training import ValPredictions

ARTIFACTS_ENV = "HARNESS_ARTIFACTS"
PREDICTIONS_ATTR = "val_predictions"  # the trial's user attribute naming its artifact
EPOCH_LOG_ATTR = "epoch_log"
NOT_PREDICTED = -1

_FILE = "val_predictions.npz"
_EPOCH_LOG = "epoch_log.json"


def artifacts_dir(storage_url: str, given: Path | None = None) -> Path | None:
    """Where trials of studies in `storage_url` keep their val predictions: `given`, else
    ``$HARNESS_ARTIFACTS``, else ``artifacts/`` beside a SQLite file; None when there is no such
    place (an in-memory SQLite, or a server storage without a folder shared by its workers)."""
    if given is not None:
        return Path(given)
    if env := os.environ.get(ARTIFACTS_ENV):
        return Path(env)
    if storage_url.startswith("sqlite:///"):
        path = storage_url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            return Path(path).parent / "artifacts"
    return None


def open_artifacts(directory: Path) -> FileSystemArtifactStore:
    """The artifact store on `directory`, created if need be (HarnessError if it cannot be)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HarnessError(f"artifact folder {directory}: cannot be created ({exc})") from None
    return FileSystemArtifactStore(directory)


def val_classes(predictions: ValPredictions, val: np.ndarray) -> np.ndarray:
    """[len(val), H] int8: the predicted class of each row of the val split (`val`, frame
    positions in the split file's order), NOT_PREDICTED (-1) where the trial made none."""
    if len(val) == 0:
        raise ValueError("the val split is empty")
    order = np.argsort(val, kind="stable")
    ordered = val[order]
    at = np.minimum(np.searchsorted(ordered, predictions.rows), len(val) - 1)
    if not np.array_equal(ordered[at], predictions.rows):
        raise ValueError("predicted rows that are not rows of the val split")
    out = np.full((len(val), predictions.classes.shape[1]), NOT_PREDICTED, dtype=np.int8)
    out[order[at]] = predictions.classes
    return out


def store_val_predictions(
    trial: optuna.Trial, predictions: ValPredictions, val: np.ndarray, directory: Path
) -> dict[str, Any]:
    """Upload the trial's val classes (``val_classes``) and name the artifact on the trial."""
    classes = val_classes(predictions, val)
    store = open_artifacts(directory)
    with tempfile.TemporaryDirectory(prefix="harness-pred-") as tmp:
        path = Path(tmp) / _FILE
        np.savez_compressed(path, classes=classes)
        size = path.stat().st_size
        artifact_id = upload_artifact(
            artifact_store=store, file_path=str(path), study_or_trial=trial
        )
    info = {
        "artifact_id": artifact_id,
        "rows": int(classes.shape[0]),
        "horizons": int(classes.shape[1]),
        "predicted": int(np.sum(classes[:, 0] != NOT_PREDICTED)),
        "bytes": size,
        "format": "npz 'classes': int8 [val rows, horizons] in val split order, -1 = none",
    }
    trial.set_user_attr(PREDICTIONS_ATTR, info)
    return info


def store_epoch_log(
    trial: optuna.Trial, epochs: list[dict[str, Any]], directory: Path
) -> dict[str, Any]:
    """Upload every epoch's entry of the trial's training history as JSON; name it on the
    trial."""
    store = open_artifacts(directory)
    with tempfile.TemporaryDirectory(prefix="harness-log-") as tmp:
        path = Path(tmp) / _EPOCH_LOG
        path.write_text(json.dumps(jsonable(epochs), indent=1))
        artifact_id = upload_artifact(
            artifact_store=store,
            file_path=str(path),
            study_or_trial=trial,
            mimetype="application/json",
        )
    info = {"artifact_id": artifact_id, "epochs": len(epochs), "format": "JSON list, one per epoch"}
    trial.set_user_attr(EPOCH_LOG_ATTR, info)
    return info


@contextlib.contextmanager
def _downloaded(trial: FrozenTrial, attr: str, directory: Path, name: str) -> Iterator[Path | None]:
    """A temporary copy of the artifact whose id the trial keeps in `attr`; None when it has
    none or the store has lost it."""
    info = trial.user_attrs.get(attr)
    if not isinstance(info, dict) or "artifact_id" not in info:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="harness-artifact-") as tmp:
        path = Path(tmp) / name
        try:
            download_artifact(
                artifact_store=FileSystemArtifactStore(directory),
                file_path=str(path),
                artifact_id=str(info["artifact_id"]),
            )
        except (ArtifactNotFound, OSError):
            yield None
            return
        yield path


def load_epoch_log(trial: FrozenTrial, directory: Path) -> list[dict[str, Any]] | None:
    """The trial's stored epoch log; None when it has none or the store has lost it."""
    with _downloaded(trial, EPOCH_LOG_ATTR, directory, _EPOCH_LOG) as path:
        if path is None:
            return None
        log: list[dict[str, Any]] = json.loads(path.read_text())
    return log


def store_files(study: optuna.Study, files: Iterable[Path], directory: Path) -> list[str]:
    """Upload `files` to the study (linked from its dashboard page); their artifact ids."""
    store = open_artifacts(directory)
    return [
        upload_artifact(artifact_store=store, file_path=str(f), study_or_trial=study) for f in files
    ]


def load_val_predictions(
    trial: FrozenTrial, directory: Path, *, rows: int, horizons: int
) -> np.ndarray | None:
    """The trial's stored [rows, horizons] int8 classes; None when it has none, when the store
    has lost them, or when their shape is not this data's."""
    with _downloaded(trial, PREDICTIONS_ATTR, directory, _FILE) as path:
        if path is None:
            return None
        with np.load(path) as saved:
            classes = np.asarray(saved["classes"])
    return classes if classes.shape == (rows, horizons) else None


def stored_val_classes(
    trials: Iterable[FrozenTrial], data: Phase1Data, directory: Path | None
) -> dict[int, np.ndarray]:
    """{trial number: [N_val, H] int8 classes} of the complete trials that have them."""
    if directory is None:
        return {}
    out = {}
    for t in trials:
        if t.state != TrialState.COMPLETE:
            continue
        classes = load_val_predictions(
            t, directory, rows=len(data.val), horizons=len(data.horizons)
        )
        if classes is not None:
            out[t.number] = classes
    return out


def overfitting(
    stored: dict[int, np.ndarray],
    data: Phase1Data,
    *,
    cost_bps: float,
    n_blocks: int = DEFAULT_BLOCKS,
    n_complete: int | None = None,
) -> dict[int, dict[str, Any]]:
    """Per horizon: the PBO of picking the best of the trials in `stored` (``stored_val_classes``)
    with ``metrics.probability_of_backtest_overfitting`` (``PBOResult`` plus ``rows``: the val
    rows every trial predicted, ``trials``: their numbers, ``n_complete``: complete trials of the
    study, stored or not); or, where it cannot be computed, ``{"pbo": None, "reason": ...}``.
    Logits are rounded to 4 decimals (they take at most 2N - 1 distinct values)."""
    numbers = sorted(stored)
    base: dict[str, Any] = {
        "n_trials": len(numbers),
        "n_complete": len(numbers) if n_complete is None else n_complete,
        "blocks": n_blocks,
        "trials": numbers,
    }
    if len(numbers) < 2:
        reason = (
            f"{len(numbers)} complete trial(s) with stored val predictions: PBO compares at "
            "least 2 (trials store them when the search has an artifact folder)"
        )
        return {h: {**base, "pbo": None, "reason": reason} for h in data.horizons}
    cube = np.stack([stored[n] for n in numbers], axis=1)  # [N_val, N, H]
    common = np.all(cube != NOT_PREDICTED, axis=(1, 2))  # rows every trial predicted
    rows = data.val[common]
    if len(rows) < 2 * n_blocks:
        reason = f"{len(rows)} val rows predicted by every trial: {n_blocks} blocks need 2 each"
        missing = {**base, "rows": len(rows), "pbo": None, "reason": reason}
        return {h: dict(missing) for h in data.horizons}
    close = data.frame["close"].to_numpy(np.float64)[rows]
    symbols = data.frame["symbol"].astype(str).to_numpy()[rows]
    out = {}
    for k, h in enumerate(data.horizons):
        returns = trial_returns(
            [cube[common, j, k] for j in range(len(numbers))],
            close,
            symbols,
            positions=rows,
            cost_bps=cost_bps,
        )
        result = probability_of_backtest_overfitting(returns, n_blocks=n_blocks, metric="sharpe")
        out[h] = {
            **base,
            **result,
            "logits": [round(x, 4) for x in result["logits"]],
            "rows": len(rows),
        }
    return out


def study_overfitting(
    study: optuna.Study,
    data: Phase1Data,
    *,
    directory: Path | None,
    cost_bps: float,
    n_blocks: int = DEFAULT_BLOCKS,
) -> dict[int, dict[str, Any]]:
    """``overfitting`` of a study's complete trials, checked to be trials of `data`."""
    made_for = study.user_attrs.get("data_fingerprint")
    if made_for is not None and made_for != data.fingerprint:
        raise HarnessError(
            f"study {study.study_name!r} was searched on another dataset (fingerprint "
            f"{made_for}, this data {data.fingerprint}): its predictions are of other rows."
        )
    if n_blocks < 2 or n_blocks % 2:
        raise HarnessError(f"the number of blocks must be even and >= 2, got {n_blocks}")
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    stored = stored_val_classes(complete, data, directory)
    return overfitting(stored, data, cost_bps=cost_bps, n_blocks=n_blocks, n_complete=len(complete))


def overfit_lines(study: str, result: dict[int, dict[str, Any]]) -> list[str]:
    """What `harness overfit` prints of ``study_overfitting``: a line per horizon."""
    lines = [f"{study}: probability of backtest overfitting of its best trial (CSCV, per horizon)"]
    for h, o in result.items():
        if o["pbo"] is None:
            lines.append(f"  {h}-bar: n/a: {o['reason']}")
            continue
        slope = "n/a" if o["slope"] is None else f"{o['slope']:.2f}"
        lines.append(
            f"  {h}-bar: PBO {o['pbo']:.3f} over {o['n_trials']} of {o['n_complete']} complete "
            f"trials, {o['rows']} val rows in {o['blocks']} blocks "
            f"({len(o['logits']):,} splits), slope {slope}"
        )
    return lines
