"""Load and validate the Phase 1 outputs (the input contract of docs/contracts.md).

Every problem becomes a :class:`DataError` whose message names the file, the column and the rows;
the CLI prints it and exits with code 2. The test split is read for its positions only: they are
checked for range, overlap and time order and kept for summaries; its rows are never validated,
standardized, windowed or scored.

``read_bars`` reads the same layout without labels or splits (new bars, for ``harness predict``)
and checks only what windows rely on: timestamps and symbols. ``load_phase1`` starts from it.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import HarnessError

FINAL_DIR = Path("data/final")
SPLITS_DIR = Path("config/splits")
COMBINED_FILE = "combined_final.parquet"
PER_SYMBOL_SUFFIX = "_final_labeled.parquet"
SPLITS = ("train", "val", "test")
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
_LABEL = re.compile(r"^label_(\d+)$")
_WEIGHT = re.compile(r"^sample_weight_(\d+)$")


class DataError(HarnessError):
    """The input breaks the contract; the message is meant for the user as it stands."""


class PurgeWarning(UserWarning):
    """Train rows whose labels reach into the validation period were dropped."""


@dataclass(frozen=True)
class Phase1Data:
    """The combined frame (positions 0..N-1 as the split files use them) and what is known of it."""

    root: Path
    frame: pd.DataFrame
    feature_names: tuple[str, ...]
    horizons: tuple[int, ...]
    symbols: tuple[str, ...]
    train: np.ndarray  # int64 positions, purged
    val: np.ndarray  # int64 positions
    test: np.ndarray  # int64 positions: for summaries only, never read by training or scoring
    n_purged: int
    sources: tuple[tuple[str, int], ...]  # (file name, first position) per source file
    fingerprint: str
    is_demo: bool = False  # the embedded demo dataset (sizes follow the profile, not this)

    def locate(self, positions: np.ndarray) -> str:
        """Where rows of the combined frame live: 'MES_final_labeled.parquet rows 3, 9'."""
        return _describe_rows(self.sources, positions)


@dataclass(frozen=True)
class Bars:
    """The combined frame of a Phase 1 layout with its keys checked, and nothing else.

    Every row has a `timestamp` (parsed, increasing within a symbol) and a `symbol` (str); each
    symbol's rows are one contiguous block. Labels, weights, `close`, splits and feature values
    are not looked at: bars that arrived after the labels were made have none.
    """

    frame: pd.DataFrame
    sources: tuple[tuple[str, int], ...]  # (file name, first position) per source

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, name: str = "frame") -> Bars:
        """Check a frame already in memory; the caller's frame is left as it is."""
        sources = ((name, 0),)
        checked = frame.reset_index(drop=True)  # a new frame: the checks replace its key columns
        _check_bars(checked, _Where(sources))
        return cls(checked, sources)


def has_phase1_data(root: Path) -> bool:
    final = root / FINAL_DIR
    return final.is_dir() and (
        (final / COMBINED_FILE).is_file() or any(final.glob(f"*{PER_SYMBOL_SUFFIX}"))
    )


def read_bars(root: Path) -> Bars:
    """Read `root/data/final` and check its timestamps and symbols; no labels or splits needed."""
    frame, sources = _read_frame(Path(root))
    _check_bars(frame, _Where(sources))
    return Bars(frame, tuple(sources))


def load_phase1(root: Path) -> Phase1Data:
    """Read `root/data/final` and `root/config/splits`, validate them, purge train."""
    root = Path(root)
    bars = read_bars(root)
    frame, sources = bars.frame, bars.sources
    where = _Where(sources)
    _check_columns(frame, where)
    symbols = tuple(sorted(frame["symbol"].unique()))
    features = _feature_columns(frame, where)
    horizons = label_horizons(frame)
    for h in horizons:
        if f"sample_weight_{h}" not in frame.columns:
            frame[f"sample_weight_{h}"] = np.float32(1.0)

    splits = {name: _read_split(root, name, len(frame)) for name in SPLITS}
    _check_overlap(splits, where)
    _check_time_order(frame, splits, where)
    used = np.concatenate([splits["train"], splits["val"]])
    _check_values(frame, used, features, horizons, where)
    train, n_purged = _purge(frame, splits["train"], splits["val"], max(horizons), where)
    if len(train) == 0:
        raise DataError(
            f"{root / SPLITS_DIR / 'train_indices.npy'}: no train rows are left after purging the "
            f"{n_purged} rows whose {max(horizons)}-bar labels reach into the validation period."
        )
    return Phase1Data(
        root=root,
        frame=frame,
        feature_names=features,
        horizons=horizons,
        symbols=symbols,
        train=train,
        val=splits["val"],
        test=splits["test"],
        n_purged=n_purged,
        sources=sources,
        fingerprint=_fingerprint(frame, features, horizons, train, splits["val"]),
    )


# --- reading -------------------------------------------------------------------------------------


def _read_frame(root: Path) -> tuple[pd.DataFrame, list[tuple[str, int]]]:
    final = root / FINAL_DIR
    combined = final / COMBINED_FILE
    per_symbol = sorted(final.glob(f"*{PER_SYMBOL_SUFFIX}")) if final.is_dir() else []
    if combined.is_file():
        frame = _read_parquet(combined)
        if "symbol" not in frame.columns:
            raise DataError(f"{combined}: column 'symbol' is missing (a combined file needs it).")
        return frame.reset_index(drop=True), [(str(combined), 0)]
    if not per_symbol:
        raise DataError(
            f"No Phase 1 data in {final}: expected {{SYMBOL}}{PER_SYMBOL_SUFFIX} files or "
            f"{COMBINED_FILE}. Run `harness demo-data --out DIR` for a synthetic dataset."
        )
    # The combined frame is the per-symbol files concatenated in sorted symbol order.
    by_symbol = sorted(per_symbol, key=lambda p: p.name.removesuffix(PER_SYMBOL_SUFFIX))
    parts, sources, start = [], [], 0
    for path in by_symbol:
        part = _read_parquet(path)
        symbol = path.name.removesuffix(PER_SYMBOL_SUFFIX)
        if "symbol" not in part.columns:
            part["symbol"] = symbol
        else:
            wrong = np.flatnonzero(part["symbol"].astype(str).to_numpy() != symbol)
            if len(wrong):
                raise DataError(
                    f"{path}, column 'symbol': rows {_rows(wrong)} do not say {symbol!r} "
                    "as the file name does."
                )
        parts.append(part)
        sources.append((str(path), start))
        start += len(part)
    return pd.concat(parts, ignore_index=True), sources


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types; the user needs the file name
        raise DataError(f"{path}: cannot be read as parquet ({exc}).") from exc


def _read_split(root: Path, name: str, n_rows: int) -> np.ndarray:
    path = root / SPLITS_DIR / f"{name}_indices.npy"
    if not path.is_file():
        raise DataError(f"{path}: split file is missing.")
    try:
        idx = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise DataError(f"{path}: cannot be read as a .npy array ({exc}).") from exc
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise DataError(f"{path}: expected a 1-D integer array, found {idx.dtype} {idx.shape}.")
    if len(idx) == 0:
        raise DataError(f"{path}: the {name} split is empty.")
    bad = np.flatnonzero((idx < 0) | (idx >= n_rows))
    if len(bad):
        raise DataError(
            f"{path}: positions {_rows(idx[bad])} are out of range: the combined frame has "
            f"{n_rows} rows (0..{n_rows - 1})."
        )
    uniq, counts = np.unique(idx, return_counts=True)
    if (counts > 1).any():
        raise DataError(f"{path}: positions {_rows(uniq[counts > 1])} appear more than once.")
    return np.sort(idx.astype(np.int64))


# --- checks --------------------------------------------------------------------------------------


class _Where:
    """Turns combined positions into 'file rows ...' for messages."""

    def __init__(self, sources: Sequence[tuple[str, int]]) -> None:
        self.sources = sources

    def __call__(self, positions: np.ndarray) -> str:
        return _describe_rows(self.sources, positions)


def _check_bars(frame: pd.DataFrame, where: _Where) -> None:
    _check_keys(frame, where)
    _check_symbol_blocks(frame, where)
    _check_timestamps(frame, where)


def _check_keys(frame: pd.DataFrame, where: _Where) -> None:
    files = ", ".join(name for name, _ in where.sources)
    missing = [c for c in ("timestamp", "symbol") if c not in frame.columns]
    if missing:
        raise DataError(f"{files}: required column(s) {', '.join(missing)} missing.")
    frame["timestamp"] = _utc(frame["timestamp"], files, where)
    frame["symbol"] = frame["symbol"].astype(str)


def _check_columns(frame: pd.DataFrame, where: _Where) -> None:
    """What training and scoring read beyond the keys: close, labels, weights."""
    files = ", ".join(name for name, _ in where.sources)
    if "close" not in frame.columns:
        raise DataError(f"{files}: required column close missing.")
    if not any(_LABEL.match(str(c)) for c in frame.columns):
        raise DataError(f"{files}: no label column (label_1, label_5, ... one per horizon).")
    for col in frame.columns:
        m = _WEIGHT.match(str(col))
        if m and f"label_{m.group(1)}" not in frame.columns:
            raise DataError(f"{files}: column {col} has no matching label_{m.group(1)}.")


def _utc(values: pd.Series, files: str, where: _Where) -> pd.Series:
    """Timestamps as naive datetimes in UTC. Those with a time zone (any zone, and zones may
    differ between files or rows) are converted to UTC; naive ones are kept as they are. A mix of
    the two has no single meaning and is refused."""
    column = f"{files}, column 'timestamp'"
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None)
    try:
        parsed = pd.to_datetime(values)
    except (ValueError, TypeError):  # zones that differ, or zones beside naive timestamps
        aware = values.map(_has_zone).to_numpy(dtype=bool)
        naive = values.notna().to_numpy() & ~aware
        if aware.any() and naive.any():
            raise DataError(
                f"{column}: {int(aware.sum())} timestamps carry a time zone "
                f"({where(np.flatnonzero(aware))}) and {int(naive.sum())} do not "
                f"({where(np.flatnonzero(naive))}); give every timestamp a zone, or none."
            ) from None
        try:
            parsed = pd.to_datetime(values, utc=True)
        except (ValueError, TypeError) as exc:
            reason = str(exc).strip().splitlines()[0].split(". You might want")[0]  # pandas' hints
            raise DataError(f"{column}: not parseable as dates ({reason}).") from None
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed


# a time of day followed by a zone: 09:30Z, 09:30:00+01:00, 09:30:00.5 -0500, 09:30 UTC
_ZONE = re.compile(r"\d:\d\d(:\d\d(\.\d*)?)?\s*(Z|UTC|GMT|[+-]\d\d(:?\d\d)?)$", re.IGNORECASE)


def _has_zone(value: object) -> bool:
    if isinstance(value, str):
        return bool(_ZONE.search(value.strip()))
    return getattr(value, "tzinfo", None) is not None


def _check_symbol_blocks(frame: pd.DataFrame, where: _Where) -> None:
    # Windows are cut by index arithmetic, so each symbol's rows must be one contiguous block.
    sym = frame["symbol"].to_numpy()
    starts = np.flatnonzero(np.r_[True, sym[1:] != sym[:-1]])
    block_symbols = sym[starts]
    if len(set(block_symbols)) != len(block_symbols):
        repeated = starts[pd.Series(block_symbols).duplicated().to_numpy()]
        raise DataError(
            f"column 'symbol': the rows of a symbol must be contiguous (sorted by symbol, then "
            f"time); a symbol starts again at {where(repeated)}."
        )


def _check_timestamps(frame: pd.DataFrame, where: _Where) -> None:
    ts = frame["timestamp"].to_numpy()
    sym = frame["symbol"].to_numpy()
    if pd.isna(ts).any():
        raise DataError(
            f"column 'timestamp': missing values at {where(np.flatnonzero(pd.isna(ts)))}."
        )
    same = sym[1:] == sym[:-1]
    bad = np.flatnonzero(same & (ts[1:] <= ts[:-1])) + 1
    if len(bad):
        raise DataError(
            f"column 'timestamp': not increasing within a symbol at {where(bad)} "
            "(each is at or before the row above it)."
        )


def _feature_columns(frame: pd.DataFrame, where: _Where) -> tuple[str, ...]:
    named = [c for c in frame.columns if str(c).startswith("feature_")]
    if not named:
        reserved = {"timestamp", "symbol", *PRICE_COLUMNS}
        named = [
            c
            for c in frame.columns
            if c not in reserved
            and not _LABEL.match(str(c))
            and not _WEIGHT.match(str(c))
            and pd.api.types.is_numeric_dtype(frame[c])
        ]
    if not named:
        files = ", ".join(name for name, _ in where.sources)
        raise DataError(f"{files}: no feature columns (feature_* or other numeric columns).")
    not_numeric = [c for c in named if not pd.api.types.is_numeric_dtype(frame[c])]
    if not_numeric:
        raise DataError(f"feature column(s) {', '.join(not_numeric)} are not numeric.")
    return tuple(str(c) for c in named)


def label_horizons(frame: pd.DataFrame) -> tuple[int, ...]:
    """The horizons h of the frame's label_{h} columns, ascending."""
    return tuple(sorted(int(m.group(1)) for c in frame.columns if (m := _LABEL.match(str(c)))))


def _check_overlap(splits: dict[str, np.ndarray], where: _Where) -> None:
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1 :]:
            both = np.intersect1d(splits[a], splits[b])
            if len(both):
                raise DataError(
                    f"splits {a} and {b} overlap: {len(both)} positions are in both "
                    f"({_rows(both)}; {where(both)})."
                )


def _check_time_order(frame: pd.DataFrame, splits: dict[str, np.ndarray], where: _Where) -> None:
    ts = frame["timestamp"].to_numpy()
    sym = frame["symbol"].to_numpy()
    for symbol in np.unique(sym):
        bounds = {}
        for name in SPLITS:
            idx = splits[name][sym[splits[name]] == symbol]
            if len(idx):
                bounds[name] = idx
        names = [n for n in SPLITS if n in bounds]
        for earlier, later in itertools.pairwise(names):
            late_rows = bounds[earlier][ts[bounds[earlier]] >= ts[bounds[later]].min()]
            if len(late_rows):
                raise DataError(
                    f"splits not in time order for {symbol}: {len(late_rows)} {earlier} rows are "
                    f"at or after the first {later} row ({where(late_rows)})."
                )


def _check_values(
    frame: pd.DataFrame,
    used: np.ndarray,
    features: tuple[str, ...],
    horizons: tuple[int, ...],
    where: _Where,
) -> None:
    """Features, labels, weights and close must be sane on every train/val row."""
    for col in features:
        values = frame[col].to_numpy(dtype=np.float64, na_value=np.nan)[used]
        bad = used[~np.isfinite(values)]
        if len(bad):
            raise DataError(f"column {col}: NaN or inf in {len(bad)} train/val rows: {where(bad)}.")
    close = frame["close"].to_numpy(dtype=np.float64, na_value=np.nan)[used]
    bad = used[~(np.isfinite(close) & (close > 0))]
    if len(bad):
        raise DataError(f"column close: missing, non-finite or <= 0 in rows {where(bad)}.")
    for h in horizons:
        labels = frame[f"label_{h}"].to_numpy(dtype=np.float64, na_value=np.nan)[used]
        bad = used[~np.isfinite(labels)]
        if len(bad):
            raise DataError(
                f"column label_{h}: NaN or inf in {len(bad)} train/val rows: {where(bad)}."
            )
        bad = used[~np.isin(labels, (-1.0, 0.0, 1.0))]
        if len(bad):
            seen = sorted(set(labels[~np.isin(labels, (-1.0, 0.0, 1.0))].tolist()))[:5]
            raise DataError(
                f"column label_{h}: values {seen} outside {{-1, 0, 1}} in {len(bad)} rows: "
                f"{where(bad)}."
            )
        weights = frame[f"sample_weight_{h}"].to_numpy(dtype=np.float64, na_value=np.nan)[used]
        bad = used[~np.isfinite(weights)]
        if len(bad):
            raise DataError(f"column sample_weight_{h}: NaN or inf in rows {where(bad)}.")
        bad = used[weights < 0]
        if len(bad):
            raise DataError(f"column sample_weight_{h}: negative weights in rows {where(bad)}.")


def _purge(
    frame: pd.DataFrame, train: np.ndarray, val: np.ndarray, horizon: int, where: _Where
) -> tuple[np.ndarray, int]:
    """Drop train rows whose `horizon`-bar labels look at bars of the validation period."""
    sym = frame["symbol"].to_numpy()
    first_val = {s: val[sym[val] == s].min() for s in np.unique(sym[val])}
    next_val = np.array([first_val.get(s, np.iinfo(np.int64).max) for s in sym[train]])
    leaks = (next_val - train) <= horizon
    if leaks.any():
        warnings.warn(
            f"purged {int(leaks.sum())} train rows whose {horizon}-bar labels reach into the "
            f"validation period ({where(train[leaks])}).",
            PurgeWarning,
            stacklevel=3,
        )
    return train[~leaks], int(leaks.sum())


def _fingerprint(
    frame: pd.DataFrame,
    features: tuple[str, ...],
    horizons: tuple[int, ...],
    train: np.ndarray,
    val: np.ndarray,
) -> str:
    """Content hash of what training and scoring read: studies refuse trials from other data."""
    columns = ["timestamp", "symbol", "close", *features]
    columns += [f"label_{h}" for h in horizons] + [f"sample_weight_{h}" for h in horizons]
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(frame[columns], index=False).to_numpy().tobytes())
    digest.update(",".join(columns).encode())
    digest.update(train.tobytes())
    digest.update(val.tobytes())
    return digest.hexdigest()[:16]


# --- messages ------------------------------------------------------------------------------------


def _rows(values: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(v)) for v in values[:limit])
    return shown if len(values) <= limit else f"{shown} and {len(values) - limit} more"


def _describe_rows(sources: Sequence[tuple[str, int]], positions: np.ndarray) -> str:
    """Positions of the combined frame as rows of the files they came from."""
    positions = np.sort(np.asarray(positions, dtype=np.int64))
    starts = np.array([start for _, start in sources])
    owner = np.searchsorted(starts, positions, side="right") - 1
    parts = []
    for k in np.unique(owner):
        name, start = sources[k]
        parts.append(f"{Path(name).name} rows {_rows(positions[owner == k] - start)} (0-based)")
    return "; ".join(parts)
