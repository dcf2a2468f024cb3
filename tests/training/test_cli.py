"""`harness train`: one model, the search space's fixed config with --set overrides, a log file."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from harness.cli import main
from harness.data.demo import HORIZONS

EPOCH_LINE = re.compile(r"^epoch +(\d+)  train_loss \S+  val_loss \S+  lr \S+  score \S+")
TABLE_ROW = re.compile(r"^ +\d+ +-?\d+\.\d{4} ")  # epoch, train loss, ...


@pytest.fixture(autouse=True)
def _in_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the command reads search_spaces/ from the checkout then


def train(demo_dir: Path, log: Path, *sets: str) -> int:
    argv = ["train", "--model", "nhits", "--data", str(demo_dir), "--epochs", "2"]
    argv += ["--max-batches", "2", "--log", str(log)]
    for item in ("seq_len=16", "mlp_units=32", *sets):
        argv += ["--set", item]
    return main(argv)


def test_train_logs_config_and_epochs(
    demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: rich wraps its lines at the width
    log = tmp_path / "logs" / "nhits.log"

    assert train(demo_dir, log, "learning_rate=3e-3") == 0

    lines = log.read_text().splitlines()
    assert len(lines) == 3
    head, _, config = lines[0].partition(" ")
    assert head == "config"
    config = json.loads(config)
    assert config["model"] == "nhits"
    assert (config["seq_len"], config["mlp_units"]) == (16, 32)
    assert config["learning_rate"] == 3.0e-3  # "3e-3" read as a float, not a string
    assert config["head_hidden"] == 256  # the rest: the search space's fixed (seed) values
    epochs = [EPOCH_LINE.match(line) for line in lines[1:]]
    assert [m and int(m.group(1)) for m in epochs] == [0, 1]
    for line in lines[1:]:
        metrics = json.loads(line[line.index("{") :])
        assert sorted(metrics) == ["train", "val"]
        assert sorted(metrics["val"]) == sorted(str(h) for h in HORIZONS)

    out = capsys.readouterr().out
    assert "training nhits on" in out
    header = next(line for line in out.splitlines() if line.lstrip().startswith("epoch"))
    assert header.split() == ["epoch", "train_loss", "val_loss", "lr", "score"] + [
        f"{m}@{h}" for h in HORIZONS for m in ("F1", "SR")
    ] + ["time"]
    rows = [line for line in out.splitlines() if TABLE_ROW.match(line)]
    assert [int(row.split()[0]) for row in rows] == [0, 1]
    assert all(len(row.split()) == len(header.split()) for row in rows)  # a value per column
    assert "best epoch" in out
    assert os.listdir(cwd) == []  # the log went where --log said, nothing else was written


def test_table_rows_are_not_wrapped_when_piped(
    demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert train(demo_dir, tmp_path / "train.log") == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("epoch"))
    rows = [line for line in lines if TABLE_ROW.match(line)]
    assert header.split()[-1] == "time"
    assert [len(row.split()) for row in rows] == [len(header.split())] * 2


@pytest.mark.parametrize(
    ("item", "named"),
    [
        ("bogus_key=1", "bogus_key"),  # unknown
        ("batch_size=true", "batch_size"),  # wrong type
        ("optimizer=sgd", "optimizer"),  # bad value
    ],
)
def test_bad_set_exits_2_naming_the_key(
    demo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture, item: str, named: str
) -> None:
    log = tmp_path / "train.log"
    assert train(demo_dir, log, item) == 2
    captured = capsys.readouterr()
    assert "error:" in captured.err
    assert named in captured.err
    assert not log.exists()  # rejected before training started


def test_set_without_equals_exits_2(
    demo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert train(demo_dir, tmp_path / "train.log", "learning_rate") == 2
    assert "KEY=VALUE" in capsys.readouterr().err
