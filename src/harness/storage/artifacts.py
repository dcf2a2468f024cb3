"""Every complete trial's val predictions, kept in Optuna's artifact store, and what they show:
the probability of backtest overfitting (PBO) of picking the study's best trial.

A trial's best epoch predicted a class for each val row at each horizon. Stored as one int8 per
row and horizon, [N_val, H] in the order of the val split file, -1 where the trial predicted
nothing (a row without a full window at its seq_len, or beyond a capped evaluation), in a
compressed ``.npz``: 300 kB raw for 100,000 rows and 3 horizons, less after compression
(``README``: measured sizes). The store is ``optuna.artifacts.FileSystemArtifactStore`` on a
folder: ``--artifacts DIR`` or ``$HARNESS_ARTIFACTS`` (a folder every machine of a PostgreSQL
study mounts), else the one the study recorded, else ``artifacts/`` beside a SQLite file. A
search records its folder on the study (user attribute ``artifacts``, an absolute path), so
finalize, overfit and the dashboard find it from any working folder. The trial's user attribute
``val_predictions`` names the artifact.

A complete trial also stores its epoch log (``epoch_log.json``: every epoch's losses, score and
nested train and val metrics per horizon), named by its attribute ``epoch_log``; optuna-dashboard
links both from the trial's page. Finalize stores its reports on the study (``store_files``),
each run in place of the last.
Asked for (``--logger``), each run's training curves go to ``logs/{study}/{run}/`` in the folder
(``study_curves``): files for TensorBoard or a ``metrics.csv``, not artifacts of the store.

PBO (``metrics.probability_of_backtest_overfitting``, CSCV): the trials' per-row strategy
returns on the val rows that all of them predicted, one column per trial, cut into S blocks.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import optuna
from optuna.artifacts import (
    FileSystemArtifactStore,
    download_artifact,
    get_all_artifact_meta,
    upload_artifact,
)
from optuna.artifacts.exceptions import ArtifactNotFound
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from harness.config import ScoreConfig
from harness.constants import DEFAULT_BLOCKS
from harness.data import Phase1Data
from harness.errors import HarnessError
from harness.metrics import (
    pbo_of_score,
    probability_of_backtest_overfitting,
    strategy_returns,
    timing_returns,
    trial_returns,
)
from harness.serialize import jsonable
from harness.storage.study import redact
from harness.training import CURVES_DIR, Curves, ValPredictions

ARTIFACTS_ENV = "HARNESS_ARTIFACTS"
# The study's user attribute naming its artifact folder. optuna-dashboard shows an attribute cut
# at 1,024 characters; the storage keeps it whole, and that is what is read back.
FOLDER_ATTR = "artifacts"
PREDICTIONS_ATTR = "val_predictions"  # the trial's user attribute naming its artifact
EPOCH_LOG_ATTR = "epoch_log"
NOT_PREDICTED = -1

_FILE = "val_predictions.npz"
_EPOCH_LOG = "epoch_log.json"


class StudyAttrs(Protocol):
    """A study, loaded (``optuna.Study``) or as ``BaseStorage.get_all_studies`` lists it."""

    @property
    def study_name(self) -> str: ...
    @property
    def user_attrs(self) -> dict[str, Any]: ...


def artifacts_dir(
    storage_url: str, given: Path | None = None, *, study: StudyAttrs | None = None
) -> Path | None:
    """Where trials of `study` (a study in `storage_url`) keep their val predictions: `given`,
    else ``$HARNESS_ARTIFACTS``, else the folder the study recorded (``record_artifacts``; a
    HarnessError when it does not exist here), else ``artifacts/`` beside a SQLite file; None
    when there is no such place (an in-memory SQLite, or a server storage without a folder
    shared by its workers)."""
    if given is not None:
        return Path(given)
    if env := os.environ.get(ARTIFACTS_ENV):
        return Path(env)
    if study is not None and (recorded := study.user_attrs.get(FOLDER_ATTR)) is not None:
        folder = Path(str(recorded))
        if not folder.is_dir():
            raise HarnessError(
                f"artifact folder {folder}, recorded by study {study.study_name!r}, does not "
                f"exist here: mount it at that path, or pass --artifacts DIR (or set "
                f"${ARTIFACTS_ENV})"
            )
        return folder
    if storage_url.startswith("sqlite:///"):
        path = storage_url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            return Path(path).parent / "artifacts"
    return None


def served_artifacts_dir(
    storage: BaseStorage, storage_url: str, given: Path | None = None
) -> Path | None:
    """The one artifact folder the dashboard serves for every study in `storage`: `given`, else
    ``$HARNESS_ARTIFACTS``, else the one the studies recorded (a HarnessError when they recorded
    several), else ``artifacts/`` beside a SQLite file (``artifacts_dir``)."""
    if given is not None or os.environ.get(ARTIFACTS_ENV):
        return artifacts_dir(storage_url, given)
    recorded: dict[str, StudyAttrs] = {}
    for study in storage.get_all_studies():
        if FOLDER_ATTR in study.user_attrs:
            recorded.setdefault(str(study.user_attrs[FOLDER_ATTR]), study)
    if len(recorded) > 1:
        named = "; ".join(f"{f} by study {s.study_name!r}" for f, s in recorded.items())
        raise HarnessError(
            f"the studies in {redact(storage_url)} recorded {len(recorded)} artifact folders "
            f"({named}); the dashboard serves one: pass --artifacts DIR"
        )
    return artifacts_dir(storage_url, study=next(iter(recorded.values()), None))


def record_artifacts(study: optuna.Study, directory: Path | None) -> str | None:
    """Record `directory` (made absolute) on a study that has no folder recorded yet, so later
    commands from any working folder find its trials' artifacts. Returns the folder the study
    recorded before where it is another one (its trials' artifacts are split), else None."""
    if directory is None:
        return None
    recorded = study.user_attrs.get(FOLDER_ATTR)
    if recorded is None:
        study.set_user_attr(FOLDER_ATTR, str(directory.absolute()))
        return None
    return None if Path(recorded) == directory.absolute() else str(recorded)


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
    """Upload `files` to the study (linked from its dashboard page); their artifact ids. A file
    whose name the study already holds replaces that artifact's content under its id, so a
    command run again leaves one copy (and the dashboard's links stay valid)."""
    store = open_artifacts(directory)
    try:
        earlier = {meta.filename: meta.artifact_id for meta in get_all_artifact_meta(study)}
    except TypeError:  # optuna-dashboard marks an artifact deleted on its page as null, which
        earlier = {}  # Optuna's reader does not skip: then they are uploaded anew
    ids = []
    for f in files:
        artifact_id = earlier.get(f.name)
        if artifact_id is None:
            artifact_id = upload_artifact(
                artifact_store=store, file_path=str(f), study_or_trial=study
            )
        else:
            with f.open("rb") as content:
                store.write(artifact_id, content)
        ids.append(artifact_id)
    return ids


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


BY_SCORE = "score"
"""The key of the PBO of the study's own selection rule, beside one per horizon (``str(h)``)."""


def overfitting(
    stored: dict[int, np.ndarray],
    data: Phase1Data,
    *,
    score: ScoreConfig,
    n_blocks: int = DEFAULT_BLOCKS,
    n_complete: int | None = None,
) -> dict[str, dict[str, Any]]:
    """The PBO of picking the best of the trials in `stored` (``stored_val_classes``), two ways:
    per horizon ``str(h)``, each trial ranked by that horizon's Sharpe ratio
    (``metrics.probability_of_backtest_overfitting``); and under ``BY_SCORE``, ranked by the
    study's own selection rule, its `score` (``metrics.pbo_of_score``). Each a ``PBOResult``
    plus ``rows``: the val rows every trial predicted, ``trials``: their numbers,
    ``n_complete``: complete trials of the study, stored or not; or, where it cannot be
    computed, ``{"pbo": None, "reason": ...}``. Logits are rounded to 4 decimals (they take at
    most 2N - 1 distinct values)."""
    numbers = sorted(stored)
    keys = [*map(str, data.horizons), BY_SCORE]
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
        return {key: {**base, "pbo": None, "reason": reason} for key in keys}
    cube = np.stack([stored[n] for n in numbers], axis=1)  # [N_val, N, H]
    common = np.all(cube != NOT_PREDICTED, axis=(1, 2))  # rows every trial predicted
    rows = data.val[common]
    if len(rows) < 2 * n_blocks:
        reason = f"{len(rows)} val rows predicted by every trial: {n_blocks} blocks need 2 each"
        missing = {**base, "rows": len(rows), "pbo": None, "reason": reason}
        return {key: dict(missing) for key in keys}
    cube = cube[common]
    close = data.frame["close"].to_numpy(np.float64)[rows]
    symbols = data.frame["symbol"].astype(str).to_numpy()[rows]
    out: dict[str, dict[str, Any]] = {}
    for k, h in enumerate(data.horizons):
        returns = trial_returns(
            [cube[:, j, k] for j in range(len(numbers))],
            close,
            symbols,
            positions=rows,
            cost_bps=score.cost_bps,
        )
        found = probability_of_backtest_overfitting(returns, n_blocks=n_blocks, metric="sharpe")
        out[str(h)] = {**base, **found, "rows": len(rows)}
    by_score = _score_pbo(cube, rows, close, symbols, data, score, n_blocks)
    out[BY_SCORE] = {**base, **by_score, "rows": len(rows)}
    for result in out.values():
        if result.get("logits") is not None:
            result["logits"] = [round(x, 4) for x in result["logits"]]
    return out


def _score_pbo(
    cube: np.ndarray,
    rows: np.ndarray,
    close: np.ndarray,
    symbols: np.ndarray,
    data: Phase1Data,
    score: ScoreConfig,
    n_blocks: int,
) -> dict[str, Any]:
    """``metrics.pbo_of_score`` of the trials' classes `cube` [T, N, H] on val `rows` [T] (their
    `close` and `symbols`)."""
    if score.sharpe_term == "annualized":
        return {
            "pbo": None,
            "reason": "the score's annualized Sharpe term is a mean of per-symbol Sharpe ratios, "
            "which CSCV cannot rebuild from block sums; only the timing and psr terms have it",
        }
    horizons = list(data.horizons) if score.horizons is None else list(score.horizons)
    picks = [data.horizons.index(h) for h in horizons]
    # class indices 0 short, 1 neutral, 2 long, as the trials' stored classes
    targets = np.stack(
        [data.frame[f"label_{h}"].to_numpy(np.float64)[rows] + 1 for h in horizons], axis=1
    ).astype(np.int64)
    if score.sharpe_term == "timing":
        series, flat = partial(timing_returns, positions=rows), 0.5
    else:
        series, flat = partial(strategy_returns, positions=rows, cost_bps=score.cost_bps), 0.0
    returns = np.stack(
        [
            np.stack([series(cube[:, j, k], close, symbols) for k in picks], axis=1)
            for j in range(cube.shape[1])
        ],
        axis=1,
    )  # [T, N, H]
    return dict(
        pbo_of_score(
            cube[:, :, picks],
            targets,
            returns,
            sharpe_weight=score.sharpe_weight,
            f1_weight=score.f1_weight,
            flat_term=flat,
            reduce=score.reduce,
            n_blocks=n_blocks,
        )
    )


def study_overfitting(
    study: optuna.Study,
    data: Phase1Data,
    *,
    directory: Path | None,
    score: ScoreConfig,
    n_blocks: int = DEFAULT_BLOCKS,
) -> dict[str, dict[str, Any]]:
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
    return overfitting(stored, data, score=score, n_blocks=n_blocks, n_complete=len(complete))


def overfit_lines(study: str, result: dict[str, dict[str, Any]]) -> list[str]:
    """What `harness overfit` prints of ``study_overfitting``: a line per horizon (trials
    ranked by its Sharpe ratio), then one for the study's own rule (ranked by the score)."""
    lines = [f"{study}: probability of backtest overfitting of its best trial (CSCV)"]
    for key, o in result.items():
        label = "by the score" if key == BY_SCORE else f"{key}-bar Sharpe"
        if o["pbo"] is None:
            lines.append(f"  {label}: n/a: {o['reason']}")
            continue
        slope = "n/a" if o["slope"] is None else f"{o['slope']:.2f}"
        lines.append(
            f"  {label}: PBO {o['pbo']:.3f} over {o['n_trials']} of {o['n_complete']} "
            f"complete trials, {o['rows']} val rows in {o['blocks']} blocks "
            f"({len(o['logits']):,} splits), slope {slope}"
        )
    return lines


def study_curves(logger: str | None, directory: Path | None, study: str) -> Curves | None:
    """Where the runs of `study` log their training curves with `logger` ("tensorboard" or
    "csv"): ``{directory}/logs/{study}/``, the artifact folder's; None without `logger`."""
    if logger is None:
        return None
    if directory is None:
        raise HarnessError(
            f"--logger {logger} writes its curves into the artifact folder, and there is none: "
            f"pass --artifacts DIR (or set ${ARTIFACTS_ENV})"
        )
    return Curves(logger, directory / CURVES_DIR, study)
