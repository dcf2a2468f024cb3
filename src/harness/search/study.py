"""Study storage: Optuna's RDB storage (SQLite on one machine, PostgreSQL across machines).

Nothing home-made: heartbeats let a later run mark a killed worker's trial failed and retry it
(RetryFailedTrialCallback); SQLite gets a busy timeout and WAL so parallel workers wait for the
write lock instead of failing with "database is locked".
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from pathlib import Path

import optuna
import sqlalchemy
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from harness.errors import HarnessError

DEFAULT_STORAGE = "sqlite:///studies/harness.db"
# Seconds between a running trial's heartbeats, and of silence after which it counts as dead.
HEARTBEAT_SECONDS = int(os.environ.get("HARNESS_HEARTBEAT_SECONDS", "10"))
GRACE_SECONDS = 3 * HEARTBEAT_SECONDS
MAX_RETRIES = 2  # a trial whose worker died is run again at most this often
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)

# Heartbeats are "experimental" in Optuna's words, and stable since 2.9; the warning is noise.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


class StorageError(HarnessError):
    """The storage URL cannot be opened."""


class StudyMismatch(HarnessError):
    """An existing study was made with another dataset, objective or model."""


def open_storage(url: str) -> RDBStorage:
    given = url
    engine_kwargs: dict[str, object] = {}
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": 120}}
    elif url.startswith("postgresql"):
        engine_kwargs = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
        if url.startswith("postgresql://"):  # the driver installed with harness, whatever the
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")  # SQLAlchemy default
    try:
        storage = RDBStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=HEARTBEAT_SECONDS,
            grace_period=GRACE_SECONDS,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES),
        )
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StorageError(f"storage {given}: cannot connect ({reason})") from None
    if url.startswith("sqlite:///"):
        _use_wal(storage)
    return storage


def _use_wal(storage: RDBStorage) -> None:
    """WAL lets the dashboard and other workers read while one worker writes."""
    with storage.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")


def check_study(study: optuna.Study, expected: dict[str, str]) -> None:
    """Record `expected` on a new study; refuse an existing one that was made for other things."""
    attrs = study.user_attrs
    if not attrs:
        for key, value in expected.items():
            study.set_user_attr(key, value)
        return
    wrong = [k for k, v in expected.items() if attrs.get(k) != v]
    if wrong:
        details = "; ".join(
            f"{k}: study has {attrs.get(k)!r}, this run {expected[k]!r}" for k in wrong
        )
        raise StudyMismatch(
            f"study {study.study_name!r} was made for another {', '.join(wrong)} ({details}). "
            "Trials of different datasets or objectives do not mix: pass --study NEW_NAME."
        )


def counts(trials: list[FrozenTrial]) -> Counter[TrialState]:
    return Counter(t.state for t in trials)


def n_finished(trials: list[FrozenTrial]) -> int:
    c = counts(trials)
    return sum(c[s] for s in FINISHED)


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The best complete trial, or None when the study has none."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return max(complete, key=lambda t: t.value) if complete else None  # type: ignore[arg-type,return-value]
