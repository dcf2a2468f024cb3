"""Finalize end to end: demo data -> search -> finalize -> the files Phase 3 reads."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import joblib
import numpy as np
import optuna
import pandas as pd
import pytest
import torch
from optuna.artifacts import FileSystemArtifactStore, download_artifact, get_all_artifact_meta

import harness
from harness.cli import main
from harness.data import prepare
from harness.data.calendar import seen_bars_per_year
from harness.errors import HarnessError
from harness.finalize import FinalizeError, FinalizeReport, verify_results
from harness.metrics import (
    ACCURACY,
    BRIER,
    LOG_LOSS,
    MACRO_F1,
    MAX_DRAWDOWN,
    N_TRADES,
    SHARPE,
    TOTAL_RETURN,
    WIN_RATE,
    backtest,
    calibration_metrics,
    classification_metrics,
    reliability_bins,
)
from harness.modelfile import EnsembleNet, layout, load_model, split_probs
from harness.staging import pending
from harness.storage import artifacts_dir, best_trial, open_storage
from harness.storage.attrs import VAL_ACCURACY, VAL_MACRO_F1, VAL_SHARPE, horizon_attr
from tests.finalize.support import MODELS, Searched

pytestmark = pytest.mark.slow


def summary(out: Path, model: str) -> dict:
    return json.loads((out / layout.metrics(model)).read_text())


# --- the exported folder -------------------------------------------------------------------------


def test_every_file_of_the_contract_is_exported(exported: FinalizeReport, searched: Searched):
    out = exported.out
    assert exported.errors == {}
    assert list(exported.exported) == [layout.REFERENCE, *MODELS]  # the reference first
    for model in (*MODELS, layout.REFERENCE):
        files = layout.model_files(model, searched.data.horizons, interpretable=model == "tft")
        for relative in files:
            assert (out / relative).is_file(), relative
    assert (out / "reports" / "tft_interpretation.json").is_file()
    assert exported.comparison == out / layout.COMPARISON
    assert pending(out) == []


def test_verify_results_passes(exported: FinalizeReport, searched: Searched) -> None:
    assert verify_results(exported.out, searched.data) == []


def test_the_reference_is_exported_without_a_pickle_and_every_model_is_judged_against_it(
    exported: FinalizeReport, searched: Searched
) -> None:
    out, horizons = exported.out, searched.data.horizons
    model_file = out / layout.model_file(layout.REFERENCE)
    assert model_file.read_text().startswith("{")  # JSON, never a pickle
    ref = summary(out, layout.REFERENCE)
    assert ref["family"] in ("logistic", "boosting") and set(ref["families"]) == {
        "logistic",
        "boosting",
    }
    report = (out / layout.COMPARISON).read_text()
    assert "## Against the reference" in report
    for model in MODELS:
        for h in horizons:
            versus = summary(out, model)["horizons"][str(h)]["versus_reference"]
            assert set(versus) >= {"macro_f1", "log_loss", "sentence", "level"}
            assert versus["macro_f1"]["low"] <= versus["macro_f1"]["high"]
            assert versus["sentence"] in report
    bad = out.parent / "broken"
    shutil.copytree(out, bad)
    probs = np.load(bad / layout.val_probs(layout.REFERENCE, 5))
    np.save(bad / layout.val_probs(layout.REFERENCE, 5), probs[:, ::-1].copy())
    problems = verify_results(bad, searched.data)
    assert any("reference_val_probs_5.npy" in p for p in problems)


def test_probabilities_align_with_the_index_and_the_val_split(
    exported: FinalizeReport, searched: Searched
) -> None:
    data, out = searched.data, exported.out
    index = pd.read_parquet(out / layout.VAL_INDEX)
    assert list(index.columns) == ["position", "timestamp", "symbol"]
    np.testing.assert_array_equal(index["position"].to_numpy(), data.val)
    frame = data.frame.iloc[data.val]
    assert (pd.DatetimeIndex(index["timestamp"]) == pd.DatetimeIndex(frame["timestamp"])).all()
    assert (index["symbol"].to_numpy() == frame["symbol"].to_numpy()).all()
    for model in MODELS:
        for h in data.horizons:
            probs = np.load(out / layout.val_probs(model, h))
            assert probs.dtype == np.float32
            assert probs.shape == (len(data.val), 3)
            np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_reloaded_models_reproduce_the_exported_probabilities(
    exported: FinalizeReport, searched: Searched
) -> None:
    data, out = searched.data, exported.out
    for model in MODELS:
        path = out / layout.checkpoint(model)
        raw = torch.load(path, weights_only=True)  # no pickled objects in the file
        assert raw["model"] == model and raw["extra_state_dicts"] == []
        assert raw["feature_names"] == list(data.feature_names)
        assert raw["horizons"] == list(data.horizons)

        net, meta = load_model(path)
        assert meta.run.to_flat() == raw["config"]
        prepared = prepare(data, seq_len=meta.seq_len, window_end=meta.window_end)  # type: ignore[arg-type]
        rows, probs = split_probs(net, prepared, "val")
        np.testing.assert_array_equal(rows, data.val)
        for h in data.horizons:
            saved = np.load(out / layout.val_probs(model, h))
            np.testing.assert_allclose(probs[h], saved, atol=1e-6)

        scaler = joblib.load(out / layout.scaler(model))
        np.testing.assert_allclose(scaler.mean_, meta.scaler_mean)
        np.testing.assert_allclose(scaler.scale_, meta.scaler_std)


def test_finalize_retrains_exactly_the_best_trial(exported: FinalizeReport, searched: Searched):
    # Same config, seed, budget and caps as the trial: the same model, the same val metrics
    # (the trial scored all val rows: 2 evaluation batches of 512 cover them).
    storage = open_storage(searched.storage)
    for model in MODELS:
        report = summary(exported.out, model)
        study = optuna.load_study(study_name=searched.study_names[model], storage=storage)
        trial = best_trial(study)
        assert trial is not None
        assert report["trial"] == trial.number
        assert report["config"] == trial.user_attrs["config"]
        for h in searched.data.horizons:
            got, ran = report["horizons"][str(h)]["val"], trial.user_attrs
            assert got[ACCURACY] == ran[horizon_attr(VAL_ACCURACY, h)]
            assert got[MACRO_F1] == ran[horizon_attr(VAL_MACRO_F1, h)]
            assert got[SHARPE] == pytest.approx(
                ran[horizon_attr(VAL_SHARPE, h)], rel=1e-6, abs=1e-9
            )


def test_each_study_links_the_comparison_and_its_models_reports(
    exported: FinalizeReport, searched: Searched
) -> None:
    storage = open_storage(searched.storage)
    for model in MODELS:  # the reference has no study
        study = optuna.load_study(study_name=exported.exported[model].study, storage=storage)
        names = {a.filename for a in get_all_artifact_meta(study, storage=storage)}
        assert Path(layout.COMPARISON).name in names
        for h in searched.data.horizons:
            assert Path(layout.tearsheet(model, h)).name in names
        assert not any(n.startswith(tuple(m for m in MODELS if m != model)) for n in names)


def test_finalize_run_again_replaces_its_reports_on_the_study(
    exported: FinalizeReport, searched: Searched, tmp_path: Path
) -> None:
    storage = open_storage(searched.storage)
    study = optuna.load_study(study_name=exported.exported["nhits"].study, storage=storage)
    before = {a.filename for a in get_all_artifact_meta(study)}
    again = searched.finalize(tmp_path / "results", ["nhits"])  # the same study, finalized again
    after = get_all_artifact_meta(study)
    names = [a.filename for a in after]
    assert len(names) == len(set(names))  # one artifact per file name, however many runs
    now = {p.name for p in (again.out / layout.REPORTS_DIR).glob("phase2_*")}
    assert set(names) == before | now
    comparison = next(a for a in after if a.filename == Path(layout.COMPARISON).name)
    copy = tmp_path / "stored.md"
    download_artifact(
        artifact_store=FileSystemArtifactStore(artifacts_dir(searched.storage, study=study)),
        artifact_id=comparison.artifact_id,
        file_path=str(copy),
    )
    assert copy.read_text() == (again.out / layout.COMPARISON).read_text()  # the last run's


def test_exported_metrics_are_vectorbts_and_agree_with_numpy(
    exported: FinalizeReport, searched: Searched
) -> None:
    data, out = searched.data, exported.out
    close = data.frame["close"].to_numpy(np.float64)[data.val]
    symbols = data.frame["symbol"].to_numpy()[data.val]
    labels = {h: data.frame[f"label_{h}"].to_numpy()[data.val] + 1 for h in data.horizons}
    for model in MODELS:
        report = summary(out, model)
        assert report["selection"]["n_trials"] == 2
        assert report["training"]["seconds"] > 0
        assert report["inference"]["windows_per_second"] > 0
        # each symbol annualized with its own bars per year, from train and val only
        assert report["bars_per_year"] == pytest.approx(seen_bars_per_year(data))
        for h in data.horizons:
            pred = np.load(out / layout.val_probs(model, h)).argmax(axis=1)
            val = report["horizons"][str(h)]["val"]
            numpy = backtest(
                pred,
                close,
                symbols,
                bars_per_year=report["bars_per_year"],
                cost_bps=report["cost_bps"],
                positions=data.val,
            )
            for key in (SHARPE, MAX_DRAWDOWN, TOTAL_RETURN, N_TRADES, WIN_RATE):
                if numpy[key] is None:  # win rate without a trade
                    assert val[key] is None, key
                else:
                    assert val[key] == pytest.approx(numpy[key], rel=1e-6, abs=1e-9), key
            assert val["confusion"] == classification_metrics(labels[h], pred)["confusion"]
            by_symbol = [m[SHARPE] for m in val["by_symbol"].values()]
            assert val[SHARPE] == pytest.approx(np.mean(by_symbol), rel=1e-9, abs=1e-12)
            assert 0.0 <= report["horizons"][str(h)]["deflated_sharpe"] <= 1.0
            assert set(report["horizons"][str(h)]["train"]) >= {SHARPE, "macro_f1", "confusion"}


def test_metrics_give_log_loss_and_brier_of_val_and_train(
    exported: FinalizeReport, searched: Searched
) -> None:
    data, out = searched.data, exported.out
    for model in MODELS:
        report = summary(out, model)
        for h in data.horizons:
            probs = np.load(out / layout.val_probs(model, h))
            labels = data.frame[f"label_{h}"].to_numpy()[data.val] + 1
            val, train = report["horizons"][str(h)]["val"], report["horizons"][str(h)]["train"]
            expected = calibration_metrics(labels, probs)
            assert val[LOG_LOSS] == pytest.approx(expected[LOG_LOSS], rel=1e-9)
            assert val[BRIER] == pytest.approx(expected[BRIER], rel=1e-9)
            assert train[LOG_LOSS] > 0 and 0 <= train[BRIER] <= 2
            assert val["reliability"] == reliability_bins(labels, probs)


def test_metrics_say_the_val_numbers_are_the_best_of_n_trials_with_dsr_and_pbo(
    exported: FinalizeReport, searched: Searched
) -> None:
    for model in MODELS:
        report = summary(exported.out, model)
        selection = report["selection"]
        assert selection["n_trials"] == 2 and selection["n_with_val_predictions"] == 2
        assert "best of 2 trials" in selection["note"] and "best val epoch" in selection["note"]
        assert selection["n_val_choices"] == 2  # every epoch of every trial: 2 x 1 here
        assert selection["deflated_sharpe_reason"] is None
        for h in searched.data.horizons:
            per = report["horizons"][str(h)]
            o = report["overfitting"][str(h)]
            assert set(o) >= {"pbo", "n_trials", "blocks", "slope", "n_splits", "metric"}
            assert "logits" not in o  # 12,870 numbers a horizon: in their own compact file
            with np.load(exported.out / layout.pbo_logits(model)) as saved:
                logits = saved[f"h{h}"]
            assert logits.dtype == np.float32 and len(logits) == o["n_splits"] == 12_870
            assert o["n_trials"] == 2 and o["blocks"] == 16
            assert 0.0 <= o["pbo"] <= 1.0 and per["pbo"] == o["pbo"]
            assert o["rows"] == len(searched.data.val)
            assert 0.0 <= per["deflated_sharpe"] <= 1.0
        by_score = report["overfitting"]["score"]  # the study's own rule: trials ranked by score
        assert 0.0 <= by_score["pbo"] <= 1.0 and "score" in by_score["metric"]
        with np.load(exported.out / layout.pbo_logits(model)) as saved:
            assert len(saved["score"]) == by_score["n_splits"] == 12_870


def test_tft_interpretation_ranks_features_and_attends_over_the_window(
    exported: FinalizeReport, searched: Searched
) -> None:
    report = json.loads((exported.out / "reports" / "tft_interpretation.json").read_text())
    ranked = report["feature_importance"]
    assert {r["feature"] for r in ranked} == set(searched.data.feature_names)
    weights = [r["importance"] for r in ranked]
    assert weights == sorted(weights, reverse=True)
    assert sum(weights) == pytest.approx(1.0, abs=1e-4)
    seq_len = summary(exported.out, "tft")["seq_len"]
    assert report["attention"]["lag"] == list(range(seq_len - 1, -1, -1))
    assert sum(report["attention"]["weight"]) == pytest.approx(1.0, abs=1e-4)
    assert report["rows"] == len(searched.data.val)


def test_training_log_has_a_line_per_epoch(exported: FinalizeReport) -> None:
    for model in MODELS:
        lines = (exported.out / layout.training_log(model)).read_text().splitlines()
        assert lines[0].startswith("config {")
        epochs = [line for line in lines if line.startswith("epoch")]
        assert len(epochs) == sum(summary(exported.out, model)["training"]["epochs"])


def test_finalize_says_each_model_member_epoch_and_export_step(
    searched: Searched, tmp_path: Path
) -> None:
    said: list[str] = []
    searched.finalize(tmp_path / "results", ["nhits"], say=said.append)
    steps = [
        r"nhits: best trial \d+ of study '.+' \(score \S+\); retraining 1 member\(s\)",
        r"nhits member 1/1: training \(seed \d+\) on cpu",
        r"nhits member 1/1: epoch 1/1  score \d\.\d{4}  best \d\.\d{4}  \S+ s",
        r"nhits: predicting and scoring the val and train rows \(vectorbt backtests\)",
        r"nhits: writing its files \(.+\)",
        r"nhits: exported \d+ files to .+",
        r"comparison of nhits: Optuna plots, .+",
        r"comparison of nhits: .+phase2_model_comparison\.md",
    ]
    assert said[0] == "reference: fitting logistic regressions and boosted trees on the train rows"
    assert re.fullmatch(r"reference: exported the \w+ models \(7 files to .+", said[-9])
    said = [line for line in said if not line.startswith("reference: ")]
    assert len(said) == len(steps)
    for line, step in zip(said, steps, strict=True):
        assert re.fullmatch(step, line), line


def test_comparison_report_compares_and_links_existing_plots(exported: FinalizeReport) -> None:
    text = exported.comparison.read_text()  # type: ignore[union-attr]
    for model in MODELS:
        assert f"| {model} | 1 |" in text
        criteria = rf"^\| {model} \| (PASS|FAIL).*\*\*(PASS|FAIL)\*\* \| best of N = 2; DSR .* \|$"
        assert re.search(criteria, text, re.M)
    assert "## Best model per horizon" in text
    assert "| 5 | nhits / tft |" in text  # a correlation row
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert "phase2_equity_curves.png" in images and "phase2_confusion_matrices.png" in images
    assert "phase2_overfitting.png" in images
    for model in MODELS:
        assert f"{model}_reliability.png" in images
        assert re.search(rf"^\| {model} \| 2 \| 1 \| ", text, re.M)  # side by side: N = 2
    assert "## Selection: how much of it is luck" in text and "## Calibration" in text
    for image in images:
        assert (exported.out / "reports" / image).is_file(), image
    for model in MODELS:
        assert (exported.out / "reports" / f"{model}_optuna.html").is_file()


# --- failures ------------------------------------------------------------------------------------


def test_a_finalize_stopped_mid_export_leaves_the_old_set_untouched(
    exported: FinalizeReport, searched: Searched, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = Path(shutil.copytree(exported.out, tmp_path / "results"))

    def of_nhits(root: Path) -> dict[Path, bytes]:
        return {p: p.read_bytes() for p in root.rglob("nhits_*") if p.is_file()}

    before = of_nhits(out)

    def stop(**_: object) -> str:  # after the model, probabilities and metrics are written
        raise RuntimeError("stopped while writing tearsheets")

    monkeypatch.setattr("harness.finalize.export.tearsheet_html", stop)
    with pytest.raises(RuntimeError, match="stopped"):
        searched.finalize(out, ["nhits"])
    assert of_nhits(out) == before  # no new file, none changed: nhits's old set is whole
    assert pending(out) == []


def test_a_stopped_first_export_leaves_no_file_of_the_model(
    searched: Searched, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stop(*_: object, **__: object) -> None:
        raise RuntimeError("stopped while saving the model")

    monkeypatch.setattr("harness.finalize.export.save_checkpoint", stop)
    out = tmp_path / "results"
    with pytest.raises(RuntimeError, match="stopped"):
        searched.finalize(out, ["patchtst"])
    assert list(out.rglob("patchtst_*")) == []  # the reference, exported first, stays whole
    assert pending(out) == []


def test_a_model_without_a_complete_trial_fails_clearly_while_the_others_export(
    partial: FinalizeError, searched: Searched
) -> None:
    message, report = str(partial), partial.report
    assert isinstance(partial, HarnessError)  # the CLI prints it and exits with code 2
    assert "'nhits-empty'" in message and "no complete trial" in message
    assert searched.storage in message
    assert list(report.errors) == ["nhits"]
    assert list(report.exported) == [layout.REFERENCE, "patchtst"]
    assert verify_results(report.out, searched.data, models=["patchtst"]) == []
    assert not list(report.out.rglob("nhits_*"))
    assert "Only one model" in (report.out / layout.COMPARISON).read_text()


def test_the_staging_folder_of_a_killed_run_is_removed_by_the_next(partial: FinalizeError):
    assert not list(partial.report.out.glob(".tmp-*"))
    assert not (partial.report.out / "models" / "nhits_final.pth").exists()


def test_a_missing_study_is_named_with_the_studies_there(searched: Searched, tmp_path: Path):
    with pytest.raises(FinalizeError, match=r"study 'nope' not found in .*'tft-cpu-"):
        searched.finalize(tmp_path / "results", ["tft"], study_names={"tft": "nope"})


def test_results_of_another_dataset_are_refused(
    exported: FinalizeReport, searched: Searched, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    index = pd.read_parquet(exported.out / layout.VAL_INDEX)
    (out / "predictions").mkdir(parents=True)
    index.iloc[1:].to_parquet(out / layout.VAL_INDEX)
    with pytest.raises(HarnessError, match="another dataset"):
        searched.finalize(out, ["nhits"])


# --- ensembles -----------------------------------------------------------------------------------


def test_a_seed_ensemble_is_exported_whole_and_reloads(partial: FinalizeError, searched: Searched):
    out = partial.report.out
    seeds = list(partial.report.exported["patchtst"].seeds)
    path = out / layout.checkpoint("patchtst")
    raw = torch.load(path, weights_only=True)
    assert raw["seeds"] == seeds and seeds[1] == seeds[0] + 1
    assert len(raw["extra_state_dicts"]) == 1

    net, meta = load_model(path)
    assert isinstance(net, EnsembleNet) and len(net.members) == 2
    prepared = prepare(searched.data, seq_len=meta.seq_len)
    member_probs = [split_probs(m, prepared, "val")[1] for m in net.members]
    for h in searched.data.horizons:
        mean = np.mean([p[h] for p in member_probs], axis=0)
        saved = np.load(out / layout.val_probs("patchtst", h))
        np.testing.assert_allclose(saved, mean, atol=1e-6)


# --- verify_results ------------------------------------------------------------------------------


def test_verify_results_names_each_broken_file(
    exported: FinalizeReport, searched: Searched, tmp_path: Path
) -> None:
    out = Path(shutil.copytree(exported.out, tmp_path / "results"))
    (out / layout.val_probs("nhits", 1)).unlink()
    (out / layout.checkpoint("nhits")).write_bytes(b"not a model")
    p = np.load(out / layout.val_probs("tft", 5))
    p[3] = [0.5, 0.5, 0.5]
    np.save(out / layout.val_probs("tft", 5), p)
    p = np.load(out / layout.val_probs("tft", 1))
    np.save(
        out / layout.val_probs("tft", 1), (p * 0.99 + 0.01 / 3).astype(np.float32)
    )  # sums to 1, yet not the model's
    np.save(
        out / layout.val_probs("patchtst", 20), np.load(out / layout.val_probs("patchtst", 20))[:-1]
    )
    index = pd.read_parquet(out / layout.VAL_INDEX)
    index.loc[0, "symbol"] = "XYZ"
    index.to_parquet(out / layout.VAL_INDEX)
    (out / ".tmp-tft-1-x").mkdir()

    problems = verify_results(out, searched.data)

    def about(fragment: str, words: str) -> bool:
        return any(fragment in line and words in line for line in problems)

    assert about("nhits_val_probs_1.npy", "missing")
    assert about("nhits_final.pth", "weights_only")
    assert about("tft_val_probs_5.npy", "do not sum to 1")
    assert about("tft_val_probs_1.npy", "does not reproduce")
    assert about("patchtst_val_probs_20.npy", "shape")
    assert about("val_index.parquet", "symbols differ")
    assert about(".tmp-tft-1-x", "unfinished export")
    for changed in (
        "nhits_final.pth",
        "tft_val_probs_5",
        "tft_val_probs_1",
        "patchtst_val_probs_20",
    ):
        assert about(changed, "changed since export"), changed
    assert about("val_index.parquet", "nhits_manifest.json, tft_manifest.json, patchtst_manifest")
    assert len(problems) == 12, problems


def test_verify_results_names_a_replaced_pickle_broken_json_and_missing_files(
    exported: FinalizeReport, searched: Searched, tmp_path: Path
) -> None:
    out = Path(shutil.copytree(exported.out, tmp_path / "results"))
    (out / layout.scaler("nhits")).write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")  # never loaded
    with (out / layout.metrics("tft")).open("a") as f:
        f.write("{")
    (out / layout.tearsheet("patchtst", 5)).unlink()
    (out / layout.training_log("patchtst")).unlink()
    (out / layout.manifest("patchtst")).write_text("[]")

    problems = verify_results(out, searched.data)

    assert problems == [
        f"{out / layout.metrics('tft')}: not valid JSON (Extra data: line "
        + problems[0].split("Extra data: line ")[1],
        f"{out / layout.tearsheet('patchtst', 5)}: missing",
        f"{out / layout.training_log('patchtst')}: missing",
        f"{out / layout.manifest('patchtst')}: not a manifest (TypeError: list indices must be "
        "integers or slices, not str)",
        f"{out / layout.scaler('nhits')}: changed since export (size or SHA-256 differ from "
        "nhits_manifest.json)",
        f"{out / layout.metrics('tft')}: changed since export (size or SHA-256 differ from "
        "tft_manifest.json)",
    ]


def test_the_manifest_and_the_scaler_json_describe_the_set(
    exported: FinalizeReport, searched: Searched
) -> None:
    out = exported.out
    for model in MODELS:
        manifest = json.loads((out / layout.manifest(model)).read_text())
        assert manifest["format_version"] == harness.FORMAT_VERSION
        files = layout.model_files(model, searched.data.horizons, interpretable=model == "tft")
        assert sorted(manifest["files"]) == sorted(files)
        for relative, record in manifest["files"].items():
            assert record["size"] == (out / relative).stat().st_size
        scaler = json.loads((out / layout.scaler_json(model)).read_text())
        _, meta = load_model(out / layout.checkpoint(model))
        assert scaler["feature_names"] == list(searched.data.feature_names)
        np.testing.assert_array_equal(scaler["mean"], meta.scaler_mean)  # exact: JSON keeps
        np.testing.assert_array_equal(scaler["scale"], meta.scaler_std)  # every float64 digit


def test_verify_checks_the_models_in_the_folder_or_those_named(
    partial: FinalizeError, searched: Searched
) -> None:
    out = partial.report.out  # patchtst only
    assert verify_results(out, searched.data) == []
    problems = verify_results(out, searched.data, models=MODELS)
    assert f"{out / layout.manifest('nhits')}: missing" in " ".join(problems)
    assert any("tft_final.pth: missing" in p for p in problems)
    assert verify_results(out.parent / "empty", searched.data) == [
        f"{out.parent / 'empty'}: no model exported here (finalize writes one)"
    ]


def test_verify_results_takes_the_model_on_the_command_line(
    partial: FinalizeError, searched: Searched, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["verify-results", "--results", str(partial.report.out)]
    argv += ["--data", str(searched.data.root)]
    assert main([*argv, "--model", "patchtst"]) == 0
    assert main(argv) == 0  # the models exported there
    assert main([*argv, "--model", "all"]) == 1
    assert "nhits_final.pth: missing" in capsys.readouterr().err
