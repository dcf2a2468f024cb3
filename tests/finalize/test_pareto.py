"""A Pareto search on the demo, as a user runs it: `--objective pareto`, then finalize with the
chosen member of the front, then `--trial N` for another."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

from harness.cli import main
from harness.data import load_phase1
from harness.data.demo import make_demo
from harness.modelfile import layout
from harness.storage import StudyNotFound, open_storage, pick_trial
from harness.storage.pareto import RULE

pytestmark = pytest.mark.slow

# A tiny nhits: the shipped pareto.yaml, with this space, is what a search of the demo runs.
TINY_SPACE = """model: nhits
fixed: {seq_len: 16, pooling: fine, mlp_units: 16, latent_size: 4, latent_channels: 2,
        head_hidden: 8, batch_size: 8}
params:
  learning_rate: {type: float, low: 1.0e-3, high: 1.0e-1, log: true}
  dropout: {type: float, low: 0.0, high: 0.3}
"""


def test_a_two_objective_search_exports_a_member_of_its_front_and_trial_n_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the shipped objective is found by its name alone
    make_demo(tmp_path / "demo", days=5)
    (tmp_path / "space.yaml").write_text(TINY_SPACE)
    storage = f"sqlite:///{tmp_path}/studies.db"
    common = ["--model", "nhits", "--data", "demo", "--storage", storage, "--study", "front"]
    caps = ["--epochs", "1", "--max-batches", "2"]
    search = ["search", *common, *caps, "--trials", "3", "--profile", "cpu"]
    assert main([*search, "--space", "space.yaml", "--objective", "pareto"]) == 0
    said = capsys.readouterr().out
    lines = [line for line in said.splitlines() if line.strip()]
    pareto_line = next(i for i, line in enumerate(lines) if "Pareto search" in line)
    assert "mean val macro_f1 (maximize), mean val timing_psr (maximize)" in said
    assert "no pruning" in lines[pareto_line]
    assert not any("trial" in line and "complete" in line for line in lines[:pareto_line])
    assert "Pareto front: trials" in said  # the closing summary names the front

    study = optuna.load_study(study_name="front", storage=open_storage(storage))
    assert study.metric_names == ["mean val macro_f1", "mean val timing_psr"]
    front = {t.number for t in study.best_trials}
    complete = [t.number for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))]
    assert len(complete) == 3 and front

    out = tmp_path / "results"
    assert main(["finalize", *common, *caps, "--out", str(out)]) == 0
    first = json.loads((out / layout.metrics("nhits")).read_text())
    assert first["trial"] in front
    highest = max(study.best_trials, key=lambda t: t.user_attrs["score"])
    assert first["trial"] == highest.number  # the rule: the front's highest score
    assert first["trial_choice"]["why"].startswith(RULE)
    assert first["trial_choice"]["values"] == highest.values

    reports = out / layout.REPORTS_DIR
    report = (out / layout.COMPARISON).read_text()
    assert (reports / "nhits_pareto_front.png").stat().st_size > 0
    assert "![nhits Pareto front](nhits_pareto_front.png)" in report
    assert f"Exported: trial {first['trial']}, {RULE}" in report

    other = next(n for n in complete if n != first["trial"])
    capsys.readouterr()
    assert main(["finalize", *common, *caps, "--out", str(out), "--trial", str(other)]) == 0
    second = json.loads((out / layout.metrics("nhits")).read_text())
    assert second["trial"] == other
    assert second["trial_choice"]["asked"] and second["trial_choice"]["on_front"] == (
        other in front
    )
    assert (
        f"Exported: trial {other}, asked for with --trial {other}"
        in (out / layout.COMPARISON).read_text()
    )
    assert f"nhits: trial {other} of study 'front', asked for with --trial {other}" in (
        capsys.readouterr().out
    )


def test_a_trial_asked_for_must_exist_and_be_complete(tiny_dataset: Path) -> None:
    data = load_phase1(tiny_dataset)
    study = optuna.create_study(study_name="s")
    study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)
    with pytest.raises(StudyNotFound, match=r"--trial 0: trial 0 of study 's' .* is fail; only"):
        pick_trial(study, "sqlite:///s.db", "nhits", data, 0)
    with pytest.raises(StudyNotFound, match=r"--trial 7: .* no such trial \(its trials: 0 to 0"):
        pick_trial(study, "sqlite:///s.db", "nhits", data, 7)


def test_trial_is_refused_with_more_than_one_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["finalize", "--model", "all", "--trial", "0"]) == 2
    assert "--trial names a trial of one study: give it with one --model" in (
        capsys.readouterr().err
    )
