"""Window rules: no lookahead, no symbol crossing, val alignment, train-only scaling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from harness.data import full_windows, load_phase1, prepare
from tests.conftest import tiny_frames, tiny_splits, write_dataset

L = 8


def _with_row_ids(tmp_path: Path):
    """A dataset whose feature_0 is the row's own position in the combined frame."""
    frames = tiny_frames()
    frames["MES"]["feature_0"] = np.arange(120, dtype=float)
    frames["MGC"]["feature_0"] = np.arange(120, 240, dtype=float)
    return load_phase1(write_dataset(tmp_path, frames, tiny_splits()))


def _unscale(prepared, x: torch.Tensor) -> np.ndarray:
    return x.numpy() * prepared.scaler.scale_ + prepared.scaler.mean_


@pytest.mark.parametrize("window_end", ["inclusive", "exclusive"])
def test_windows_end_at_the_row_and_never_cross_a_symbol(tmp_path: Path, window_end: str) -> None:
    data = _with_row_ids(tmp_path)
    prepared = prepare(data, seq_len=L, window_end=window_end)
    sym = data.frame["symbol"].to_numpy()
    last = 0 if window_end == "inclusive" else 1
    for split in ("train", "val"):
        batch = prepared.batch(prepared.split(split))
        ids = np.rint(_unscale(prepared, batch.x)[:, :, 0]).astype(int)  # [B, L]
        rows = batch.rows.numpy()
        expected = rows[:, None] - last - np.arange(L)[::-1]  # [B, L], oldest first
        np.testing.assert_array_equal(ids, expected)
        assert (sym[ids] == sym[rows][:, None]).all()


def test_rows_without_full_history_are_dropped_and_reported(tmp_path: Path) -> None:
    data = _with_row_ids(tmp_path)
    prepared = prepare(data, seq_len=L)
    # train starts at the first row of each symbol: L-1 rows per symbol lack history
    assert prepared.dropped == {"train": 2 * (L - 1), "val": 0}
    assert len(prepared.train) == len(data.train) - 2 * (L - 1)


def test_a_feature_holding_the_future_label_is_never_seen_by_the_row_it_labels(
    tmp_path: Path,
) -> None:
    frames = tiny_frames(n=400)
    for frame in frames.values():
        # row j+1 learns the label of row j (it is known only after the bar closes): legit history
        frame["feature_2"] = frame["label_1"].shift(1).fillna(0).astype(float)
    data = load_phase1(write_dataset(tmp_path, frames, tiny_splits(n=400)))
    prepared = prepare(data, seq_len=L)
    batch = prepared.batch(prepared.train)
    seen = np.rint(_unscale(prepared, batch.x)[:, :, 2]).astype(int)  # [B, L]
    own = batch.y[:, 0].numpy() - 1
    # The previous row's label is in the window; the row's own label only by chance (~1/3).
    assert (seen[:, -1] == own).mean() < 0.5
    previous = data.frame["label_1"].to_numpy()[batch.rows.numpy() - 1]
    np.testing.assert_array_equal(seen[:, -1], previous)


def test_val_predictions_align_with_val_indices(tmp_path: Path) -> None:
    data = _with_row_ids(tmp_path)
    prepared = prepare(data, seq_len=L)
    rows = torch.cat([b.rows for b in prepared.loader("val", batch_size=7)])
    np.testing.assert_array_equal(rows.numpy(), data.val)


def test_scaler_is_fit_on_train_rows_only(tmp_path: Path) -> None:
    frames, splits = tiny_frames(), tiny_splits()
    data = load_phase1(write_dataset(tmp_path / "a", frames, splits))
    prepared = prepare(data, seq_len=L)
    raw = data.frame[list(data.feature_names)].to_numpy()
    np.testing.assert_allclose(prepared.scaler.mean_, raw[data.train].mean(axis=0))
    np.testing.assert_allclose(prepared.scaler.scale_, raw[data.train].std(axis=0))

    # Changing every non-train row leaves the scaler as it was.
    non_train = np.setdiff1d(np.arange(240), data.train)
    for symbol, offset in (("MES", 0), ("MGC", 120)):
        mine = non_train[(non_train >= offset) & (non_train < offset + 120)] - offset
        frames[symbol].loc[mine, "feature_1"] += 1000.0
    other = prepare(load_phase1(write_dataset(tmp_path / "b", frames, splits)), seq_len=L)
    np.testing.assert_allclose(other.scaler.mean_, prepared.scaler.mean_)


def test_test_split_never_reaches_training_or_scoring(tmp_path: Path) -> None:
    frames, splits = tiny_frames(), tiny_splits()
    clean = prepare(load_phase1(write_dataset(tmp_path / "a", frames, splits)), seq_len=L)
    for symbol, offset in (("MES", 0), ("MGC", 120)):
        rows = splits["test"][(splits["test"] >= offset) & (splits["test"] < offset + 120)] - offset
        frames[symbol].loc[rows, ["feature_0", "label_1", "sample_weight_1"]] = [1e9, 5, -3.0]
    dirty = prepare(load_phase1(write_dataset(tmp_path / "b", frames, splits)), seq_len=L)
    assert not np.isin(dirty.train.numpy(), splits["test"]).any()
    assert not np.isin(dirty.val.numpy(), splits["test"]).any()
    for split in ("train", "val"):
        a, b = clean.batch(clean.split(split)), dirty.batch(dirty.split(split))
        for name in ("x", "y", "w"):
            torch.testing.assert_close(getattr(a, name), getattr(b, name))


def test_rows_with_missing_features_outside_the_splits_break_history(tmp_path: Path) -> None:
    frames, splits = tiny_frames(), tiny_splits()
    frames["MES"].loc[[68], "feature_1"] = np.nan  # in the train/val gap (66..71): no split row
    data = load_phase1(write_dataset(tmp_path, frames, splits))
    prepared = prepare(data, seq_len=L)
    # val starts at 72; rows 72..75 would need row 68 in their window of 8
    assert prepared.dropped["val"] == 4
    assert int(prepared.val[0]) == 76
    assert torch.isfinite(prepared.batch(prepared.val).x).all()
    assert torch.isfinite(prepared.batch(prepared.train).x).all()


def test_batches_have_the_contract_shapes_and_dtypes(tiny_dataset: Path) -> None:
    prepared = prepare(load_phase1(tiny_dataset), seq_len=L)
    batch = next(iter(prepared.loader("train", batch_size=16, shuffle=True, seed=1)))
    assert batch.x.shape == (16, L, 3) and batch.x.dtype == torch.float32
    assert batch.y.shape == (16, 2) and batch.y.dtype == torch.int64
    assert batch.w.shape == (16, 2) and batch.w.dtype == torch.float32
    assert set(batch.y.unique().tolist()) <= {0, 1, 2}
    assert prepared.features.is_contiguous()


def test_shuffle_is_seeded_and_draws_each_row_at_most_once(tiny_dataset: Path) -> None:
    prepared = prepare(load_phase1(tiny_dataset), seq_len=L)

    def epoch(seed: int) -> np.ndarray:
        return torch.cat(
            [b.rows for b in prepared.loader("train", batch_size=10, shuffle=True, seed=seed)]
        ).numpy()

    assert (epoch(3) == epoch(3)).all()
    assert not (epoch(3) == epoch(4)).all()
    drawn = epoch(3)
    n = len(prepared.train)  # 118: 11 full batches, the short last one is dropped when shuffling
    assert len(drawn) == n - n % 10 and len(set(drawn)) == len(drawn)
    assert set(drawn) <= set(prepared.train.numpy())
    unshuffled = torch.cat([b.rows for b in prepared.loader("train", batch_size=10)]).numpy()
    np.testing.assert_array_equal(unshuffled, prepared.train.numpy())
    assert len(list(prepared.loader("train", batch_size=10, max_batches=2))) == 2


@pytest.mark.parametrize("window_end", ["inclusive", "exclusive"])
def test_full_windows_admits_exactly_the_rows_whose_window_is_whole(window_end: str) -> None:
    rng = np.random.default_rng(0)
    symbols = np.repeat(np.array(["A", "B", "C"]), [30, 5, 40])  # B is shorter than a window
    features = rng.normal(size=(len(symbols), 2))
    features[rng.choice(len(symbols), 6, replace=False), rng.integers(0, 2, 6)] = np.nan
    features[50, 0] = np.inf

    got = full_windows(symbols, features, seq_len=L, window_end=window_end)

    finite = np.isfinite(features).all(axis=1)
    first = L - 1 if window_end == "inclusive" else L  # the window is rows i-first..i-first+L-1
    for i in range(len(symbols)):
        window = np.arange(i - first, i - first + L)
        whole = window[0] >= 0 and (symbols[window] == symbols[i]).all() and finite[window].all()
        assert got[i] == whole, i
