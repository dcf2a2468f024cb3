"""The input contract: every bad input is one DataError naming file, column and rows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.data import Bars, DataError, PurgeWarning, load_dataset, load_phase1, read_bars
from tests.conftest import tiny_frames, tiny_splits, write_dataset

Frames = dict[str, pd.DataFrame]
Splits = dict[str, np.ndarray]


def _set(
    symbol: str, column: str, rows: list[int], value: object
) -> Callable[[Frames, Splits], None]:
    def breaker(frames: Frames, splits: Splits) -> None:
        frames[symbol].loc[rows, column] = value

    return breaker


def _drop_column(column: str) -> Callable[[Frames, Splits], None]:
    def breaker(frames: Frames, splits: Splits) -> None:
        for frame in frames.values():
            frame.drop(columns=[column], inplace=True)

    return breaker


def _splits(**change: Callable[[Splits], np.ndarray]) -> Callable[[Frames, Splits], None]:
    def breaker(frames: Frames, splits: Splits) -> None:
        for name, fn in change.items():
            splits[name] = fn(splits)

    return breaker


def _swap_timestamps(frames: Frames, splits: Splits) -> None:
    ts = frames["MGC"]["timestamp"].to_numpy().copy()
    ts[[10, 11]] = ts[[11, 10]]
    frames["MGC"]["timestamp"] = ts


def _wrong_symbol(frames: Frames, splits: Splits) -> None:
    frames["MGC"].loc[[3], "symbol"] = "MES"


BAD_INPUTS = {
    # name: (breaker, words the message must hold)
    "missing close": (_drop_column("close"), ["close", "missing"]),
    "no labels": (
        lambda f, s: [
            _drop_column(c)(f, s)
            for c in ("label_1", "label_5", "sample_weight_1", "sample_weight_5")
        ],
        ["no label column"],
    ),
    "NaN feature": (
        _set("MES", "feature_1", [5, 7], np.nan),
        ["feature_1", "NaN", "MES_final_labeled.parquet rows 5, 7"],
    ),
    "inf feature": (
        _set("MGC", "feature_0", [75], np.inf),
        ["feature_0", "inf", "MGC_final_labeled.parquet rows 75"],
    ),
    "NaN label": (
        _set("MGC", "label_5", [80], np.nan),
        ["label_5", "NaN", "MGC_final_labeled.parquet rows 80"],
    ),
    "label out of range": (
        _set("MES", "label_1", [2], 2),
        ["label_1", "[2.0]", "outside", "MES_final_labeled.parquet rows 2"],
    ),
    "negative weight": (
        _set("MES", "sample_weight_5", [9], -0.5),
        ["sample_weight_5", "negative", "rows 9"],
    ),
    "bad close": (_set("MES", "close", [4], 0.0), ["close", "rows 4"]),
    "out of range": (
        _splits(val=lambda s: np.r_[s["val"], 10_000]),
        ["val_indices.npy", "10000", "out of range", "240 rows"],
    ),
    "negative index": (
        _splits(test=lambda s: np.r_[-1, s["test"]]),
        ["test_indices.npy", "-1", "out of range"],
    ),
    "overlap": (
        _splits(val=lambda s: np.r_[s["val"], s["train"][:3]]),
        ["train and val overlap", "3 positions"],
    ),
    "time order": (
        _splits(train=lambda s: np.r_[s["train"], s["test"][-2:]], test=lambda s: s["test"][:-2]),
        ["not in time order", "MGC", "train", "MGC_final_labeled.parquet rows 118, 119"],
    ),
    "empty split": (
        _splits(val=lambda s: np.array([], dtype=np.int64)),
        ["val_indices.npy", "empty"],
    ),
    "float split": (
        _splits(train=lambda s: s["train"].astype(np.float64)),
        ["train_indices.npy", "integer"],
    ),
    "duplicate index": (
        _splits(train=lambda s: np.r_[s["train"], 4]),
        ["train_indices.npy", "4", "more than once"],
    ),
    "timestamps": (
        _swap_timestamps,
        ["timestamp", "not increasing", "MGC_final_labeled.parquet rows 11"],
    ),
    "symbol column": (_wrong_symbol, ["MGC_final_labeled.parquet", "symbol", "rows 3"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_data_error_naming_it(case: str, tmp_path: Path) -> None:
    breaker, words = BAD_INPUTS[case]
    frames, splits = tiny_frames(), tiny_splits()
    breaker(frames, splits)
    root = write_dataset(tmp_path, frames, splits)

    with pytest.raises(DataError) as info:
        load_phase1(root)

    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"


def test_missing_split_file(tiny_dataset: Path) -> None:
    (tiny_dataset / "config/splits/val_indices.npy").unlink()
    with pytest.raises(DataError, match=r"val_indices\.npy: split file is missing"):
        load_phase1(tiny_dataset)


def test_unreadable_parquet(tiny_dataset: Path) -> None:
    (tiny_dataset / "data/final/MGC_final_labeled.parquet").write_text("not parquet")
    with pytest.raises(DataError, match=r"MGC_final_labeled\.parquet: cannot be read as parquet"):
        load_phase1(tiny_dataset)


def test_explicit_folder_without_data(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=f"No Phase 1 data in {tmp_path}"):
        load_dataset(tmp_path)


def test_valid_dataset_loads(tiny_dataset: Path) -> None:
    data = load_phase1(tiny_dataset)
    assert data.symbols == ("MES", "MGC")
    assert data.horizons == (1, 5)
    assert data.feature_names == ("feature_0", "feature_1", "feature_2")
    assert len(data.frame) == 240
    assert data.n_purged == 0


def test_combined_file_is_used_as_it_is(tmp_path: Path) -> None:
    frames, splits = tiny_frames(), tiny_splits()
    per_symbol = load_phase1(write_dataset(tmp_path / "a", frames, splits))
    root = write_dataset(tmp_path / "b", {}, splits)
    pd.concat(frames.values(), ignore_index=True).to_parquet(
        root / "data/final/combined_final.parquet"
    )
    combined = load_phase1(root)
    assert combined.fingerprint == per_symbol.fingerprint


def test_missing_weights_default_to_one(tmp_path: Path) -> None:
    frames = tiny_frames()
    for frame in frames.values():
        frame.drop(columns=["sample_weight_5"], inplace=True)
    data = load_phase1(write_dataset(tmp_path, frames, tiny_splits()))
    assert (data.frame["sample_weight_5"] == 1.0).all()


def test_features_fall_back_to_numeric_columns(tmp_path: Path) -> None:
    frames = tiny_frames()
    for frame in frames.values():
        frame.rename(
            columns={"feature_0": "rsi", "feature_1": "atr", "feature_2": "note"}, inplace=True
        )
        frame["note"] = "text"
        frame["volume"] = 1.0
    data = load_phase1(write_dataset(tmp_path, frames, tiny_splits()))
    assert data.feature_names == ("rsi", "atr")


def test_train_rows_whose_labels_reach_into_val_are_purged(tmp_path: Path) -> None:
    splits = tiny_splits(gap=2)  # longest horizon is 5: the last 3 train rows of each symbol leak
    root = write_dataset(tmp_path, tiny_frames(), splits)
    with pytest.warns(PurgeWarning, match="purged 6 train rows"):
        data = load_phase1(root)
    assert data.n_purged == 6
    first_val = {
        s: data.val[data.frame["symbol"].to_numpy()[data.val] == s].min() for s in data.symbols
    }
    sym = data.frame["symbol"].to_numpy()
    assert all(first_val[sym[i]] - i > 5 for i in data.train)
    assert len(data.train) == len(splits["train"]) - 6


def test_test_rows_are_not_validated(tmp_path: Path) -> None:
    """The test split is only checked for positions: its labels and features are never read."""
    frames, splits = tiny_frames(), tiny_splits()
    test_rows = splits["test"][splits["test"] < 120]
    frames["MES"].loc[test_rows, "feature_0"] = np.nan
    frames["MES"].loc[test_rows, "label_1"] = 7
    data = load_phase1(write_dataset(tmp_path, frames, splits))
    assert len(data.test) == len(splits["test"])


def test_demo_is_used_when_no_data_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    said: list[str] = []
    data = load_dataset(None, say=said.append)
    assert data.is_demo
    assert said and said[0].startswith(f"No Phase 1 data in {tmp_path}: using the demo dataset")


def test_data_error_is_raised_by_the_api(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="No Phase 1 data"):
        load_phase1(tmp_path)


def test_bars_need_neither_labels_nor_splits(tmp_path: Path) -> None:
    frames = {
        s: f[["timestamp", "symbol", "feature_0"]].assign(timestamp=f["timestamp"].astype(str))
        for s, f in tiny_frames().items()
    }
    root = write_dataset(tmp_path, frames, {})
    bars = read_bars(root)
    assert len(bars.frame) == 240 and bars.frame["timestamp"].dtype.kind == "M"
    assert list(bars.frame["symbol"].unique()) == ["MES", "MGC"]
    with pytest.raises(DataError, match="required column close missing"):
        load_phase1(root)  # what training reads is still required there


def test_bars_from_a_frame_are_checked_and_the_frame_left_as_it_was() -> None:
    frame = tiny_frames()["MES"][["timestamp", "symbol", "feature_0"]]
    frame = frame.assign(timestamp=frame["timestamp"].astype(str))
    bars = Bars.from_frame(frame)
    assert bars.frame["timestamp"].dtype.kind == "M" and frame["timestamp"].dtype.kind != "M"
    with pytest.raises(DataError, match=r"not increasing within a symbol at frame rows 5"):
        Bars.from_frame(frame.iloc[[0, 1, 2, 3, 4, 2]])
