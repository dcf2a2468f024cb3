"""benchmarks/quality.py's baseline reads the data as honestly as the harness does."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import tiny_frames, tiny_splits, write_dataset

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "quality.py"
_spec = importlib.util.spec_from_file_location("quality", SCRIPT)
assert _spec is not None and _spec.loader is not None
quality = importlib.util.module_from_spec(_spec)
sys.modules["quality"] = quality  # its dataclasses look their module up there
_spec.loader.exec_module(quality)

N = 300  # bars per symbol


def frames() -> dict:
    """The tiny frames at the benchmark's horizons; MGC's first feature on another scale, as
    another bar length gives."""
    out = tiny_frames(N)
    rng = np.random.default_rng(1)
    for frame in out.values():
        frame["label_20"] = rng.integers(-1, 2, N).astype(np.int8)
        frame["sample_weight_20"] = np.float32(1.0)
    out["MGC"]["feature_0"] *= 100.0
    return out


def dataset(root: Path) -> Path:
    return write_dataset(root, frames(), tiny_splits(N))


def test_the_baseline_scales_each_symbol_on_its_train_rows_only(tmp_path: Path) -> None:
    d = quality.load(dataset(tmp_path / "a"))
    for s in (0, 1):
        train = d["train"][d["symbol"][d["train"]] == s]
        np.testing.assert_allclose(d["x"][train].mean(0), 0.0, atol=1e-5)
        np.testing.assert_allclose(d["x"][train].std(0), 1.0, atol=1e-3)
    changed = frames()
    for frame in changed.values():  # val rows changed beyond recognition: train rows unmoved
        frame.loc[np.arange(N) >= int(N * 0.6), "feature_1"] += 1000.0
    moved = quality.load(write_dataset(tmp_path / "b", changed, tiny_splits(N)))
    np.testing.assert_array_equal(moved["x"][d["train"]], d["x"][d["train"]])


def test_baseline_windows_end_at_their_row_inside_its_symbol(tmp_path: Path) -> None:
    d = quality.load(dataset(tmp_path / "a"))
    seq_len = 8
    train = d["train"]  # each symbol's train rows start at its first bar
    x, y, symbol, rows = quality.windows(d, train, seq_len, k=2)
    # a row with fewer than seq_len bars of its own symbol behind it gets no window
    kept = [r for r in train if r % N >= seq_len - 1]
    assert len(x) == len(kept) == len(y) == len(train) - 2 * (seq_len - 1)
    np.testing.assert_array_equal(rows, kept)
    for window, label, s, r in zip(x.numpy(), y.numpy(), symbol.numpy(), kept, strict=True):
        np.testing.assert_array_equal(window, d["x"][r - seq_len + 1 : r + 1])
        assert label == d["y"][r, 2] and s == d["symbol"][r]


def test_both_sides_train_the_cpu_profiles_sizes_and_sample_the_same_ranges() -> None:
    root = SCRIPT.parents[1]
    for model in quality.MODELS:
        space = yaml.safe_load((root / "search_spaces" / f"{model}.yaml").read_text())
        equal = quality.equal_space(model)
        assert set(equal["params"]) == set(quality.SEARCHED)
        assert equal["fixed"] == {**space["fixed"], **space["profiles"]["cpu"]["fixed"]}


def test_the_baseline_prints_the_best_and_held_out_f1_per_horizon(tmp_path: Path) -> None:
    root = dataset(tmp_path / "a")
    paired = [{"learning_rate": 0.004, "dropout": 0.15, "batch_size": 256}]  # the harness's draws
    (tmp_path / "drawn.json").write_text(json.dumps(paired))
    command = [sys.executable, str(SCRIPT), "baseline", "--data", str(root), "--trials", "1"]
    command += ["--drawn", str(tmp_path / "drawn.json")]
    done = subprocess.run(
        [*command, "--model", "nhits"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["drawn"] == paired  # its trial trained the values the harness's drew
    for key in ("f1", "held_out"):
        assert sorted(int(h) for h in found[key]) == [1, 5, 20]
        assert all(0.0 <= f1 <= 1.0 for f1 in found[key].values())


def test_held_out_measures_on_the_later_half_what_the_earlier_half_chose() -> None:
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    early = np.arange(8) < 4
    right_early = np.array([0, 1, 2, 0, 2, 0, 1, 2])  # right on the earlier half only
    right_late = np.array([2, 0, 1, 2, 1, 2, 0, 1])  # right on the later half only
    assert quality.held_out([right_late, right_early], y, early) == 0.0
    assert quality.first_half(
        {"symbol": np.array([0] * 4 + [1] * 4), "val": np.arange(8)}, np.arange(8)
    ).tolist() == [True, True, False, False, True, True, False, False]


def test_the_horizons_are_the_datas(tmp_path: Path) -> None:
    d = quality.load(write_dataset(tmp_path / "a", tiny_frames(N), tiny_splits(N)))
    assert d["horizons"] == (1, 5)  # no label_20 here
    assert d["y"].shape == (2 * N, 2)
    side = {"s": 1.0, "f1": {1: 0.5, 5: 0.25}}
    lines = quality.table([{"model": "nhits", "seed": 0, "baseline": side}], ["baseline"])
    assert lines.splitlines()[0] == "| model | seed | baseline F1 h1 / h5 | s |"
    assert "| nhits | 0 | 0.500 / 0.250 | 1 |" in lines


def test_the_difference_is_the_mean_over_seeds_with_its_standard_error() -> None:
    def side(f1: float, s: float) -> dict:
        return {"s": s, "f1": {1: f1, 5: 0.4}}

    rows = [
        {"model": "tft", "seed": 0, "baseline": side(0.40, 100.0), "harness": side(0.43, 50.0)},
        {"model": "tft", "seed": 1, "baseline": side(0.40, 100.0), "harness": side(0.41, 30.0)},
    ]
    # differences +0.03 and +0.01: mean +0.02, s.e. 0.01414 / sqrt(2) = 0.010; time 80 / 200
    assert "| tft | +0.020 +- 0.010 / +0.000 +- 0.000 | 40% |" in quality.difference(rows)


def test_saved_rows_of_one_model_and_seed_merge_the_later_side_winning() -> None:
    old = {"model": "tft", "seed": 0, "baseline": {"s": 1.0}, "harness": {"s": 2.0}}
    rerun = {"model": "tft", "seed": 0, "harness": {"s": 3.0}}
    other = {"model": "tft", "seed": 1, "harness": {"s": 4.0}}
    assert quality.merged([old, other, rerun]) == [
        {"model": "tft", "seed": 0, "baseline": {"s": 1.0}, "harness": {"s": 3.0}},
        other,
    ]
    drew = {"model": "tft", "seed": 1, "harness": {"drawn": [{"learning_rate": 1.0e-3}]}}
    with pytest.raises(SystemExit, match="tft seed 1: the two sides drew other values"):
        quality.merged([drew, {**drew, "baseline": {"drawn": [{"learning_rate": 2.0e-3}]}}])


def test_the_harness_side_reads_its_trials_f1_at_the_kept_epoch_and_at_any_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import optuna

    from harness.cli import main
    from harness.storage.artifacts import load_epoch_log
    from tests.test_cli import tiny_project

    monkeypatch.chdir(tmp_path)
    tiny_project(tmp_path)  # a tiny nhits, 2 epochs of 3 batches
    data = write_dataset(tmp_path / "data", tiny_frames(N), tiny_splits(N))
    storage = f"sqlite:///{tmp_path}/s.db"
    argv = ["search", "--model", "nhits", "--data", str(data), "--trials", "2"]
    assert main([*argv, "--storage", storage, "--artifacts", str(tmp_path / "art")]) == 0

    found = quality.harness_best(storage, data, tmp_path / "art")
    (summary,) = optuna.get_all_study_summaries(storage)
    done = optuna.load_study(study_name=summary.study_name, storage=storage).trials
    for h in (1, 5):
        kept = [t.user_attrs[f"val_macro_f1_h{h}"] for t in done]
        every = [
            e["val"][str(h)]["macro_f1"] for t in done for e in load_epoch_log(t, tmp_path / "art")
        ]
        assert len(every) == 4  # 2 trials x 2 epochs
        assert found["f1"][h] == max(kept)
        assert found["any_epoch"][h] == max(every) >= max(kept)


def test_the_report_adds_the_harness_at_any_epoch_against_the_baselines_f1() -> None:
    def side(f1: float, **more: dict) -> dict:
        return {"s": 1.0, "f1": {1: f1}, "held_out": {1: f1}, **more}

    rows = [
        {
            "model": "nhits",
            "seed": seed,
            "baseline": side(0.40),
            "harness": side(0.38, any_epoch={1: a}),
        }
        for seed, a in ((0, 0.43), (1, 0.41))
    ]
    text = quality.report(rows, ["baseline", "harness"])
    assert "the harness at any epoch" in text
    assert text.rstrip().endswith("| nhits | +0.020 +- 0.010 | 100% |")
    for row in rows:
        del row["harness"]["any_epoch"]  # rows saved before the figure existed
    assert "any epoch" not in quality.report(rows, ["baseline", "harness"])
