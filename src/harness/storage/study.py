"""Study storage: Optuna's RDB storage (SQLite on one machine, PostgreSQL across machines), or
Optuna's gRPC storage proxy in front of one (``grpc://host:port``, many workers).

Nothing home-made: heartbeats let a later run mark a killed worker's trial failed and retry it
(RetryFailedTrialCallback); SQLite gets a busy timeout and WAL so parallel workers wait for the
write lock instead of failing with "database is locked". Optuna's proxy carries no heartbeats.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import unquote, unquote_plus, urlsplit

import optuna
import pandas as pd
import sqlalchemy
from optuna.storages import (
    BaseStorage,
    GrpcStorageProxy,
    RDBStorage,
    RetryHeartbeatStaleTrialCallback,
)
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from harness.constants import FORMAT_VERSION
from harness.data import Phase1Data
from harness.errors import HarnessError
from harness.storage.pareto import chosen, is_pareto, pareto_front

# Seconds between a running trial's heartbeats, and of silence after which it counts as dead.
HEARTBEAT_SECONDS = int(os.environ.get("HARNESS_HEARTBEAT_SECONDS", "10"))
GRACE_SECONDS = 3 * HEARTBEAT_SECONDS
MAX_RETRIES = 2  # a trial whose worker died is run again at most this often
GRPC_PORT = 13000  # Optuna's default port of its gRPC storage proxy
PROXY_WAIT_SECONDS = 10  # how long a grpc:// storage waits for its proxy to answer
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
MAXIMIZE = StudyDirection.MAXIMIZE

# Heartbeats are "experimental" in Optuna's words, and stable since 2.9; the warning is noise.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


class StorageError(HarnessError):
    """The storage URL cannot be opened."""


class StudyMismatch(HarnessError):
    """An existing study was made with another dataset, objective, model or harness format."""


class StudyNotFound(HarnessError):
    """No such study, no usable trial in it, or a study of another model or dataset."""


class WorkerWarning(UserWarning):
    """A worker runs other library versions than the study's first worker did."""


VERSIONED = ("harness", "torch", "lightning", "optuna")


MASK = "***"
# libpq's connection keywords that hold a secret (psycopg reads them from the URL's query too)
SECRET_KEYS = ("password", "sslpassword")
_SCHEME = re.compile(r"\s*[\w+]+://")
# scheme://user:PASSWORD@: SQLAlchemy's own reading (its password runs to the first @)
_USERINFO = re.compile(r"(?P<keep>\s*[\w+]+://[^:/]*:)(?P<secret>[^@]+)(?=@)")
# a libpq key/value string (host=h password=secret, values maybe 'quoted \' like this')
_KEYWORD = re.compile(
    r"(?P<keep>(?<![^\s/])(?:ssl)?password\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'?|(?:\\.|[^\s\\])+)",
    re.IGNORECASE,
)


def redact(url: str) -> str:
    """A storage URL, or a libpq key/value string, with every password shown as ***, the rest
    as it was given: in the user-info (``me:***@host``), in the query (``?password=***``,
    ``&sslpassword=***``, percent-encoded or not) and as a key (``host=h password=***``)."""
    return _redact(url)[0]


def scrub(text: str, url: str) -> str:
    """`text` (a driver's message, say) with every password of `url` replaced by ***, as it
    is written in `url` and decoded (percent-encoding, libpq's quotes)."""
    secrets = {form for raw, decoded in _redact(url)[1] for form in (raw, decoded) if form}
    for secret in sorted(secrets, key=len, reverse=True):  # a longer form first, whole
        text = text.replace(secret, MASK)
    return text


def _redact(url: str) -> tuple[str, list[tuple[str, str]]]:
    """`url` with its passwords masked, and each password as written and decoded."""
    found: list[tuple[str, str]] = []

    def keyword(match: re.Match[str]) -> str:
        raw = match["secret"]
        if raw == MASK:
            return match[0]
        value = raw[1:-1] if len(raw) > 1 and raw[0] == raw[-1] == "'" else raw.lstrip("'")
        if value:
            found.append((raw, re.sub(r"\\(.)", r"\1", value)))
        return match["keep"] + MASK

    if not _SCHEME.match(url):  # not a URL: a key/value string, or anything else
        return _KEYWORD.sub(keyword, url), found

    def userinfo(match: re.Match[str]) -> str:
        found.append((match["secret"], unquote(match["secret"])))
        return match["keep"] + MASK

    head, sep, query = _USERINFO.sub(userinfo, url, count=1).partition("?")
    pairs = []
    for pair in query.split("&") if sep else []:
        key, eq, value = pair.partition("=")
        if eq and value and unquote_plus(key).strip().lower() in SECRET_KEYS:
            found.append((value, unquote_plus(value)))
            pair = f"{key}={MASK}"
        pairs.append(pair)
    # The database part may itself be a key/value string, which libpq expands; SQLAlchemy
    # percent-decodes it first.
    head = _KEYWORD.sub(keyword, head)
    before = len(found)
    decoded = _KEYWORD.sub(keyword, unquote(head))
    return (decoded if len(found) > before else head) + sep + "&".join(pairs), found


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for another database or an in-memory one."""
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except Exception:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    database = str(parsed.database)
    if parsed.query.get("uri") == "true":  # sqlite:///file:path?mode=ro&uri=true
        database = database.removeprefix("file:")
        if database.startswith(":memory:") or "mode=memory" in str(parsed.query):
            return None
    return Path(database)


def open_storage(url: str, *, create: bool = False) -> BaseStorage:
    """Optuna's storage at `url`: a gRPC storage proxy for ``grpc://host:port``, else Optuna's
    RDB storage. Only `create=True` (a search, the proxy) may make a SQLite file, its folder and
    Optuna's tables; readers (status, finalize, dashboard) find one or stop. Every problem is a
    StorageError of one line that names the URL without its password."""
    if url.startswith("grpc://"):
        return _open_proxy(url)
    return open_database(url, create=create)


def open_database(url: str, *, create: bool = False) -> RDBStorage:
    """Optuna's RDB storage at `url` (``open_storage``); a grpc:// URL is refused."""
    if url.startswith("grpc://"):
        raise StorageError(
            f"storage {redact(url)}: a gRPC storage proxy, where a database is needed "
            "(postgresql://... or sqlite:///...)"
        )
    given = url
    engine_kwargs: dict[str, object] = {}
    path = sqlite_path(url)
    if path is not None:
        _check_sqlite_path(given, path, create=create)
        engine_kwargs = {"connect_args": {"timeout": 120}}
    elif url.startswith("postgresql"):
        engine_kwargs = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
        if url.startswith("postgresql://"):  # the driver installed with harness, whatever the
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")  # SQLAlchemy default
    for attempt in range(3):
        try:
            storage = RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                skip_table_creation=not create,
                heartbeat_interval=HEARTBEAT_SECONDS,
                grace_period=GRACE_SECONDS,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                    max_retry=MAX_RETRIES
                ),
            )
            break
        except (
            sqlalchemy.exc.SQLAlchemyError,
            optuna.exceptions.StorageInternalError,
            ImportError,
            ValueError,
        ) as exc:
            if _lost_a_race(exc) and attempt < 2:
                time.sleep(1.0)  # another process made the tables first: they are there now
                continue
            raise StorageError(
                f"storage {redact(given)}: cannot connect ({reason(exc, given)})"
            ) from None
    if path is not None and create:
        try:
            _use_wal(storage)
        except sqlalchemy.exc.SQLAlchemyError as exc:  # switching to WAL writes the file
            raise write_error(exc, given) from None
    return storage


def _open_proxy(url: str) -> GrpcStorageProxy:
    """Optuna's client of the gRPC storage proxy (``harness storage-proxy``) at `url`, once the
    proxy answers."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or GRPC_PORT
    except ValueError as exc:  # a port that is not a number, or out of range
        raise StorageError(f"storage {redact(url)}: {exc}; expected grpc://HOST:PORT") from None
    if not host or parts.path.strip("/") or parts.query:
        raise StorageError(f"storage {redact(url)}: expected grpc://HOST:PORT")
    proxy = GrpcStorageProxy(host=f"[{host}]" if ":" in host else host, port=port)
    try:
        proxy.wait_server_ready(timeout=PROXY_WAIT_SECONDS)
    except ConnectionError:
        proxy.close()
        raise StorageError(
            f"storage {redact(url)}: cannot connect (no gRPC storage proxy answered within "
            f"{PROXY_WAIT_SECONDS} s; start one there with `harness storage-proxy`)"
        ) from None
    return proxy


def _lost_a_race(exc: BaseException) -> bool:
    """Two processes made Optuna's tables in one new database at once; one of them lost."""
    cause = exc.__cause__ if isinstance(exc, optuna.exceptions.StorageInternalError) else exc
    return isinstance(cause, sqlalchemy.exc.IntegrityError)


def reason(exc: BaseException, url: str) -> str:
    """The first line of what went wrong, the driver's own words where Optuna wrapped them."""
    if isinstance(exc, optuna.exceptions.StorageInternalError) and exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(getattr(exc, "orig", None) or exc).strip()  # the driver's error, without the SQL
    return scrub(text.splitlines()[0] if text else type(exc).__name__, url)


def write_error(exc: BaseException, url: str) -> StorageError:
    """A failed write to the storage (a read-only SQLite file, say) as one line for the user."""
    return StorageError(
        f"storage {redact(url)}: cannot write ({reason(exc, url)}); a search records its trials "
        "there: make it writable (the SQLite file and its folder), or pass another --storage"
    )


def _check_sqlite_path(url: str, path: Path, *, create: bool) -> None:
    where = f"storage {redact(url)}"
    if path.is_dir():
        raise StorageError(f"{where}: {path} is a folder, not a database file")
    folder = path.parent
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            raise StorageError(f"{where}: {parent} is a file, so {path} cannot be made")
    if not create:
        if not path.is_file():
            raise StorageError(
                f"{where}: no database at {path} (nothing was created; `harness search` makes one)"
            )
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"{where}: cannot make the folder {folder} ({exc.strerror})") from None
    # SQLite writes the file and, beside it, its -wal and -shm files.
    for target in (path, folder) if path.exists() else (folder,):
        if not os.access(target, os.W_OK):
            raise StorageError(
                f"{where}: {target} is read-only; a search records its trials there: make it "
                "writable, or pass another --storage"
            )


def _use_wal(storage: RDBStorage) -> None:
    """WAL lets the dashboard and other workers read while one worker writes."""
    with storage.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")


def check_study(study: optuna.Study, expected: dict[str, str]) -> None:
    """Record `expected` and the format on a new study; refuse an existing one that was made by
    another format of the harness or for other things."""
    attrs = study.user_attrs
    if not attrs:
        for key, value in {**expected, "format_version": FORMAT_VERSION}.items():
            study.set_user_attr(key, value)
        return
    check_format(study)
    wrong = [k for k, v in expected.items() if attrs.get(k) != v]
    if wrong:
        details = "; ".join(
            f"{k}: study has {attrs.get(k)!r}, this run {expected[k]!r}" for k in wrong
        )
        raise StudyMismatch(
            f"study {study.study_name!r} was made for another {', '.join(wrong)} ({details}). "
            "Trials of different datasets or objectives do not mix: pass --study NEW_NAME."
        )


def check_worker(study: optuna.Study, worker: dict[str, str]) -> None:
    """Record the first worker of a new study (``Recipe.worker``: versions, device, precision);
    refuse a worker of another precision, and warn once of other library versions."""
    first = study.user_attrs.get("worker")
    if not isinstance(first, dict):
        if not study.get_trials(deepcopy=False):  # older studies did not record theirs
            study.set_user_attr("worker", worker)
        return
    if first.get("precision") != worker["precision"]:
        raise StudyMismatch(
            f"study {study.study_name!r} trains at precision {first.get('precision')!r} (on "
            f"{first.get('device')}); this worker would train at {worker['precision']!r} (on "
            f"{worker['device']}), and scores of two precisions do not compare. Run it where "
            "the precision matches, or pass --study NEW_NAME."
        )
    changed = [
        f"{k} {first.get(k)} (here {worker[k]})" for k in VERSIONED if first.get(k) != worker[k]
    ]
    if changed:
        warnings.warn(
            f"study {study.study_name!r} was started with {', '.join(changed)}: its trials may "
            "differ in the last digits",
            WorkerWarning,
            stacklevel=2,
        )


def check_format(study: optuna.Study) -> None:
    made_by = study.user_attrs.get("format_version", 1)
    if made_by != FORMAT_VERSION:
        age = "an older" if made_by < FORMAT_VERSION else "a newer"
        raise StudyMismatch(
            f"study {study.study_name!r} was made by {age} "
            f"harness (format {made_by}; this one writes format {FORMAT_VERSION}), whose trials "
            "this version cannot resume or retrain. Start a new study: pass --study NEW_NAME."
        )


def counts(trials: list[FrozenTrial]) -> Counter[TrialState]:
    return Counter(t.state for t in trials)


def n_finished(trials: list[FrozenTrial]) -> int:
    c = counts(trials)
    return sum(c[s] for s in FINISHED)


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The best complete trial (in a Pareto search the chosen member of the front:
    ``storage.pareto``), or None when the study has none."""
    return best_of(study.get_trials(deepcopy=False), study.directions)


def best_of(
    trials: Iterable[FrozenTrial], directions: Sequence[StudyDirection] = (MAXIMIZE,)
) -> FrozenTrial | None:
    """The complete trial of the highest value among `trials` of a study of `directions` (of
    several: the chosen member of their Pareto front), or None."""
    if is_pareto(directions):
        return chosen(pareto_front(trials, directions))
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    return max(complete, key=lambda t: float(t.value or 0.0)) if complete else None


def load_study(storage: BaseStorage, url: str, name: str, model: str) -> optuna.Study:
    """The study `name` of `model` in `storage` (opened from `url`), of this harness's format."""
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = optuna.get_all_study_names(storage)
        known = ", ".join(repr(n) for n in names) if names else "none"
        raise StudyNotFound(
            f"{model}: study {name!r} not found in {redact(url)} (studies there: {known}). "
            f"Run `harness search --model {model}` first, or name the study to finalize."
        ) from None
    made_for = study.user_attrs.get("model")
    if made_for is not None and made_for != model:
        raise StudyNotFound(
            f"{model}: study {name!r} in {redact(url)} is a study of {made_for!r}, not {model!r}."
        )
    if study.user_attrs:
        check_format(study)
    return study


def pick_trial(
    study: optuna.Study, url: str, model: str, data: Phase1Data, number: int | None = None
) -> FrozenTrial:
    """The study's trial `number` (default: its best complete trial), checked to be a complete
    harness trial of this dataset."""
    trials = study.get_trials(deepcopy=False)
    where = f"study {study.study_name!r} in {redact(url)}"
    if number is None:
        best = best_of(trials, study.directions)
        if best is None:
            states = pd.Series([t.state.name.lower() for t in trials])
            seen = ", ".join(f"{n} {s}" for s, n in states.value_counts().items()) or "no trials"
            raise StudyNotFound(
                f"{model}: {where} has no complete trial ({seen}). Run `harness search --model "
                f"{model}` until a trial completes."
            )
    else:
        found = [t for t in trials if t.number == number]
        if not found:
            raise StudyNotFound(
                f"{model}: --trial {number}: {where} has no such trial (its trials: "
                f"{'0 to ' + str(len(trials) - 1) if trials else 'none'})"
            )
        best = found[0]
        if best.state != TrialState.COMPLETE:
            raise StudyNotFound(
                f"{model}: --trial {number}: trial {number} of {where} is "
                f"{best.state.name.lower()}; only a complete trial can be exported"
            )
    fingerprint = best.user_attrs.get("data_fingerprint")
    if fingerprint != data.fingerprint:
        raise StudyNotFound(
            f"{model}: trial {best.number} of study {study.study_name!r} was trained on another "
            f"dataset (fingerprint {fingerprint}, this data {data.fingerprint}); finalize with "
            "the data the study searched on."
        )
    if "config" not in best.user_attrs:
        raise StudyNotFound(
            f"{model}: trial {best.number} of study {study.study_name!r} holds no config "
            "(user attribute 'config'); it was not made by `harness search`."
        )
    return best


def recorded_profile(storage: BaseStorage, study_name: str) -> str | None:
    """The profile a study recorded, or None when there is no such study (or it has none)."""
    try:
        study_id = storage.get_study_id_from_name(study_name)
    except KeyError:
        return None
    value = storage.get_study_user_attrs(study_id).get("profile")
    return value if isinstance(value, str) else None


def find_study(storage: BaseStorage, model: str, data: Phase1Data, *, default: str) -> str:
    """The study of `model` on `data` under its default name `{model}-{profile}-{data}`, whatever
    its profile; `default` when there is none. Several (one per profile) must be named."""
    prefix, suffix = f"{model}-", f"-{data.fingerprint[:8]}"
    found = sorted(
        s.study_name
        for s in storage.get_all_studies()
        if s.study_name.startswith(prefix)
        and s.study_name.endswith(suffix)
        and s.user_attrs.get("profile") == s.study_name[len(prefix) : -len(suffix)]
    )
    if len(found) > 1:
        raise StudyNotFound(
            f"{model}: this dataset has a study per profile ({', '.join(map(repr, found))}); "
            f"finalize one: --model {model} --study NAME"
        )
    return found[0] if found else default


def default_study_name(model: str, data: Phase1Data, profile: str) -> str:
    """Model, profile and dataset: studies of two profiles or datasets never share a name."""
    return f"{model}-{profile}-{data.fingerprint[:8]}"
