"""`harness predict` on the models the finalize tests exported: parity, no lookahead, new bars."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import harness
from harness.cli import main
from harness.finalize import FinalizeReport
from harness.modelfile import PredictError, layout, load_predictor
from harness.models import SymbolScaler
from harness.predict import PREDICTED, write_predictions
from tests.finalize.support import MODELS, Searched

pytestmark = pytest.mark.slow

KEYS = ["timestamp", "symbol"]


def predict(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["predict", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def bars_folder(root: Path, frame: pd.DataFrame) -> Path:
    """`frame` in the Phase 1 layout, one file per symbol, without splits."""
    final = root / "data" / "final"
    final.mkdir(parents=True)
    for symbol, part in frame.groupby("symbol", sort=True):
        part.to_parquet(final / f"{symbol}_final_labeled.parquet", index=False)
    return root


def new_bars(searched: Searched, rows_per_symbol: int | None = None) -> pd.DataFrame:
    """Bars as they arrive: timestamp, symbol and features only, the first rows of each symbol."""
    frame = searched.data.frame[[*KEYS, *searched.data.feature_names]]
    return (
        frame.groupby("symbol", sort=True)
        .head(rows_per_symbol or len(frame))
        .reset_index(drop=True)
    )


def results_with(exported: FinalizeReport, root: Path, models: tuple[str, ...] = MODELS) -> Path:
    """A results folder with the model files (and their manifests) of `models` only; tests may
    write into it."""
    (root / layout.MODELS_DIR).mkdir(parents=True)
    for model in models:
        for relative in (layout.checkpoint(model), layout.manifest(model)):
            shutil.copy(exported.out / relative, root / relative)
    return root


# --- the test split, the contract's files ----------------------------------------------------


def test_predict_test_split_writes_aligned_files_for_every_model(
    exported: FinalizeReport, searched: Searched, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data, out = searched.data, tmp_path / "predict"
    code, stdout, _ = predict(
        capsys, "--results", str(exported.out), "--data", str(data.root), "--split", "test",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0
    assert stdout.count("test split") == 1 and "its one use" in stdout
    assert f"test: {len(data.test):,} rows" in stdout

    index = pd.read_parquet(out / "test_index.parquet")
    assert list(index.columns) == [
        "position",
        "timestamp",
        "symbol",
        *(PREDICTED + m for m in (*MODELS, "reference")),  # the reference is applied too
    ]
    np.testing.assert_array_equal(index["position"].to_numpy(), data.test)
    rows = data.frame.iloc[data.test]
    assert (pd.DatetimeIndex(index["timestamp"]) == pd.DatetimeIndex(rows["timestamp"])).all()
    assert (index["symbol"].to_numpy() == rows["symbol"].to_numpy()).all()
    expected = {"test_index.parquet"}
    for model in (*MODELS, "reference"):
        predicted = index[PREDICTED + model].to_numpy()
        assert predicted.dtype == bool and predicted.all()  # 5 demo days: history enough
        for h in data.horizons:
            expected.add(f"{model}_test_probs_{h}.npy")
            probs = np.load(out / f"{model}_test_probs_{h}.npy", allow_pickle=False)
            assert probs.dtype == np.float32 and probs.shape == (len(data.test), 3)
            assert np.isfinite(probs).all() and ((probs >= 0) & (probs <= 1)).all()
            np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert {p.name for p in out.iterdir()} == expected  # no temp file left behind
    assert not (exported.out / layout.PREDICTIONS_DIR / "nhits_test_probs_1.npy").exists()


def test_predict_val_reproduces_the_probabilities_finalize_exported(
    exported: FinalizeReport, searched: Searched, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "predict"
    code, stdout, _ = predict(
        capsys, "--results", str(exported.out), "--data", str(searched.data.root), "--split", "val",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0 and "test split" not in stdout
    index = pd.read_parquet(out / "val_index.parquet")
    finalized = pd.read_parquet(exported.out / layout.VAL_INDEX)
    pd.testing.assert_frame_equal(index[finalized.columns], finalized)
    for model in MODELS:
        assert index[PREDICTED + model].all()
        for h in searched.data.horizons:
            got = np.load(out / f"{model}_val_probs_{h}.npy")
            saved = np.load(exported.out / layout.val_probs(model, h))
            np.testing.assert_allclose(got, saved, rtol=0, atol=1e-6, err_msg=f"{model} {h}")


# --- no lookahead ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_appending_rows_leaves_the_probabilities_of_earlier_rows_unchanged(
    model: str, exported: FinalizeReport, searched: Searched
) -> None:
    predictor = load_predictor(exported.out, model, device="cpu")
    full = new_bars(searched)
    early = new_bars(searched, rows_per_symbol=700)
    # Another column order and a column the model does not know: features are read by name.
    early = early.assign(note="x")[[*KEYS, "note", *reversed(searched.data.feature_names)]]

    before = predictor.predict_proba(early)
    after = predictor.predict_proba(full)

    old = full.reset_index().merge(early[KEYS], on=KEYS)["index"].to_numpy()  # positions in full
    assert len(old) == len(early)
    last = early.groupby("symbol").tail(1).index.to_numpy()
    assert before.predicted[last].all()  # the rows next to the appended ones are compared too
    np.testing.assert_array_equal(after.predicted[old], before.predicted)
    for h in searched.data.horizons:
        np.testing.assert_array_equal(after.probs[h][old], before.probs[h])


# --- new bars: history, names, one-line errors -----------------------------------------------


def test_rows_without_a_full_window_are_nan_flagged_and_counted(
    exported: FinalizeReport, searched: Searched, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    features = list(searched.data.feature_names)
    bars = new_bars(searched, rows_per_symbol=200)
    bars.loc[120, features[3]] = np.nan  # a MES bar with a missing feature: a hole in history
    out = tmp_path / "predict"
    code, stdout, _ = predict(
        capsys, "--results", str(exported.out), "--data", str(bars_folder(tmp_path / "b", bars)),
        "--split", "all", "--out", str(out),
    )  # fmt: skip
    assert code == 0

    index = pd.read_parquet(out / "all_index.parquet")
    np.testing.assert_array_equal(index["position"].to_numpy(), np.arange(len(bars)))
    symbol = bars["symbol"].to_numpy()
    finite = np.isfinite(bars[features].to_numpy(np.float64)).all(axis=1)
    for model in MODELS:
        meta = load_predictor(exported.out, model).meta
        L = meta.seq_len
        assert meta.window_end == "inclusive"
        # Row i is predictable when rows i-L+1..i are all of its symbol and all finite.
        expected = np.array(
            [
                i >= L - 1 and (symbol[i - L + 1 : i + 1] == symbol[i]).all()
                and finite[i - L + 1 : i + 1].all()
                for i in range(len(bars))
            ]
        )  # fmt: skip
        np.testing.assert_array_equal(index[PREDICTED + model].to_numpy(), expected)
        for h in searched.data.horizons:
            probs = np.load(out / f"{model}_all_probs_{h}.npy")
            assert len(probs) == len(bars)
            assert np.isnan(probs[~expected]).all() and np.isfinite(probs[expected]).all()
        missing = int((~expected).sum())
        assert f"{model} {len(bars) - missing:,} ({missing:,} without a full window: NaN)" in stdout


def test_the_file_api_equals_predictor_predict_proba_on_a_frame(
    exported: FinalizeReport, searched: Searched, tmp_path: Path
) -> None:
    bars = new_bars(searched, rows_per_symbol=150)
    results = results_with(exported, tmp_path / "results")
    report = write_predictions(
        results=results,
        data=bars_folder(tmp_path / "b", bars),
        split="all",
        horizons=[5],
        say=lambda _: None,
    )
    assert report.out == results / "predict"
    assert sorted(p.name for p in report.files) == sorted(
        ["all_index.parquet", *(f"{m}_all_probs_5.npy" for m in MODELS)]
    )
    tft = harness.load_predictor(exported.out, "tft").predict_proba(bars, horizons=[5])
    assert list(tft.probs) == [5]
    np.testing.assert_array_equal(np.load(report.out / "tft_all_probs_5.npy"), tft.probs[5])


def _rename_symbol(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    return frame.replace({"symbol": {"MGC": "MNQ"}}), ["--model", "nhits"]


def _swap_timestamps(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    ts = frame["timestamp"].to_numpy().copy()
    ts[[10, 11]] = ts[[11, 10]]
    return frame.assign(timestamp=ts), []


BAD_REQUESTS = {
    # name: (change of the bars and extra arguments, words the one-line message must hold)
    "missing feature": (
        lambda f: (f.drop(columns=["feature_order_flow"]), ["--model", "patchtst"]),
        ["patchtst", "feature_order_flow", "missing", "MES_final_labeled.parquet"],
    ),
    "feature of another dtype": (
        lambda f: (f.assign(feature_rsi_14=f["feature_rsi_14"].astype(str)), []),
        ["feature_rsi_14", "(str)", "not numeric"],
    ),
    # TFT reads the symbol always, N-HiTS for its SymbolScaler (its space's default)
    "symbol a model never saw": (_rename_symbol, ["nhits", "MNQ", "never seen", "MES, MGC"]),
    "horizon the model lacks": (
        lambda f: (f, ["--model", "nhits", "--horizons", "5", "60"]),
        ["nhits", "no 60-bar horizon", "1, 5, 20"],
    ),
    "timestamps out of order": (
        _swap_timestamps,
        ["timestamp", "not increasing", "MES_final_labeled.parquet rows 11"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_a_bad_request_is_one_line_and_exit_code_2(
    case: str,
    exported: FinalizeReport,
    searched: Searched,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    change, words = BAD_REQUESTS[case]
    bars, extra = change(new_bars(searched, rows_per_symbol=100))
    out = tmp_path / "predict"
    code, _, err = predict(
        capsys, "--results", str(exported.out), "--data", str(bars_folder(tmp_path / "b", bars)),
        "--split", "all", "--out", str(out), *extra,
    )  # fmt: skip
    assert code == 2
    assert err.startswith("error:") and err.strip().count("\n") == 0, err
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"
    assert not out.exists()


def test_an_exported_model_carries_its_per_symbol_statistics(exported: FinalizeReport) -> None:
    for model in ("nhits", "tft"):  # symbol_scaling: true, their spaces' default
        net = load_predictor(exported.out, model).net
        scalers = [m for m in net.modules() if isinstance(m, SymbolScaler)]
        assert scalers, model
        for scaler in scalers:  # the train rows' statistics, one row per symbol, not identity
            assert not torch.equal(scaler.mean[0], scaler.mean[1]), model
            assert not torch.equal(scaler.std, torch.ones_like(scaler.std)), model


def test_results_folder_mistakes_are_refused(
    exported: FinalizeReport, searched: Searched, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    results = results_with(exported, tmp_path / "results", ("nhits",))
    data = ["--data", str(searched.data.root), "--results", str(results)]

    code, _, err = predict(capsys, *data, "--model", "tft")
    assert code == 2 and "tft_final.pth: no finalized tft model" in err
    code, _, err = predict(capsys, *data, "--out", str(results / "predictions"))
    assert code == 2 and "finalize's predictions/ folder" in err
    assert not (results / "predictions").exists()
    code, stdout, _ = predict(capsys, *data)  # all: the models finalized there
    assert code == 0 and "predicted by nhits" in stdout and "tft" not in stdout
    assert (
        pd.read_parquet(results / "predict" / "val_index.parquet").columns[-1] == "predicted_nhits"
    )


# --- what predict loads is what finalize wrote ---------------------------------------------


def test_a_model_file_changed_since_finalize_is_refused_naming_it(
    exported: FinalizeReport, searched: Searched, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = results_with(exported, tmp_path / "results", ("nhits",))
    path = results / layout.checkpoint("nhits")
    weights = bytearray(path.read_bytes())
    middle = len(weights) // 2
    weights[middle : middle + 4] = bytes(b ^ 0xFF for b in weights[middle : middle + 4])
    path.write_bytes(weights)  # same size, 4 other bytes: torch would load it

    code, stdout, err = predict(
        capsys, "--results", str(results), "--data", str(searched.data.root), "--model", "nhits",
    )  # fmt: skip
    assert code == 2 and stdout == ""
    assert err.startswith("error:") and err.strip().count("\n") == 0, err
    for word in (str(path), "SHA-256 differs", "nhits_manifest.json", "harness finalize"):
        assert word in err, f"{word!r} not in {err!r}"
    assert not (results / "predict").exists()
    with pytest.raises(PredictError, match=r"nhits_final\.pth: SHA-256 differs"):
        load_predictor(results, "nhits", device="cpu")

    path.write_bytes(weights[:-1])
    sizes = rf"\({len(weights) - 1:,} bytes, recorded {len(weights):,} bytes\)"
    with pytest.raises(PredictError, match=rf"nhits_final\.pth: size differs .*{sizes}"):
        load_predictor(results, "nhits", device="cpu")


@pytest.mark.parametrize("case", ["no manifest", "not listed"])
def test_a_model_file_without_its_manifest_record_is_refused(
    case: str,
    exported: FinalizeReport,
    searched: Searched,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    results = results_with(exported, tmp_path / "results", ("tft",))
    manifest = results / layout.manifest("tft")
    if case == "no manifest":
        manifest.unlink()
        words = [f"{manifest}: missing", "harness finalize"]
    else:
        saved = json.loads(manifest.read_text())
        del saved["files"][layout.checkpoint("tft")]
        manifest.write_text(json.dumps(saved))
        words = [f"{results / layout.checkpoint('tft')}: not listed in {manifest}"]

    code, _, err = predict(
        capsys, "--results", str(results), "--data", str(searched.data.root), "--model", "tft",
    )  # fmt: skip
    assert code == 2 and err.strip().count("\n") == 0, err
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"
    with pytest.raises(PredictError, match=r"tft_(manifest\.json: missing|final\.pth: not listed)"):
        harness.load_predictor(results, "tft", device="cpu")


# --- the output folder -----------------------------------------------------------------------


def test_models_predicted_one_by_one_share_the_index_and_other_rows_are_refused(
    exported: FinalizeReport, searched: Searched, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "predict"
    early = bars_folder(tmp_path / "early", new_bars(searched, rows_per_symbol=100))
    later = bars_folder(tmp_path / "later", new_bars(searched, rows_per_symbol=150))

    def run(data: Path, models: list[str]) -> None:
        write_predictions(
            results=exported.out, data=data, split="all", models=models, out=out, horizons=[5],
            say=lambda _: None,
        )  # fmt: skip

    run(early, ["nhits"])
    run(early, ["tft"])
    index = pd.read_parquet(out / "all_index.parquet")
    assert [c for c in index.columns if c.startswith(PREDICTED)] == [
        "predicted_nhits",
        "predicted_tft",
    ]
    files = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(files) == ["all_index.parquet", "nhits_all_probs_5.npy", "tft_all_probs_5.npy"]

    with pytest.raises(PredictError, match="holds predictions of nhits for other rows"):
        run(later, ["tft"])  # nhits's file would no longer match the index
    monkeypatch.setattr(pd.DataFrame, "to_parquet", _fail)
    with pytest.raises(OSError, match="disk full"):
        run(later, ["nhits", "tft"])  # the index, written last, fails
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files  # no file replaced, no temp
    monkeypatch.undo()
    run(later, ["nhits", "tft"])
    assert len(pd.read_parquet(out / "all_index.parquet")) == 300


def _fail(*_: object, **__: object) -> None:
    raise OSError("disk full")


def test_import_harness_leaves_torch_for_load_predictor() -> None:
    code = (
        "import sys, harness\n"
        "assert 'torch' not in sys.modules\n"
        "harness.load_predictor\n"
        "assert 'torch' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
