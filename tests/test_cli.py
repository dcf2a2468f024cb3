"""The command line: parse, call, print. Exit code 2 with one line for bad input, never a
traceback; `harness train` and a search trial train under the same budget."""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest

from harness import MODEL_NAMES
from harness.cli import main
from harness.errors import HarnessError, WorkFailed
from harness.interrupts import Terminated
from harness.models import MODELS
from harness.training import Phase2Module
from tests.conftest import HORIZONS, tiny_frames, tiny_splits, write_dataset

EPOCH_LINE = re.compile(r"^epoch +(\d+)  train_loss \S+  val_loss \S+  lr \S+  score \S+")
TABLE_ROW = re.compile(r"^ +\d+ +-?\d+\.\d{4} ")  # epoch, train loss, ...
# A tiny nhits and a budget of 3 batches per epoch, found as ./search_spaces and ./objectives.
TINY_SPACE = """model: nhits
fixed: {seq_len: 16, pooling: fine, mlp_units: 16, latent_size: 4, latent_channels: 2,
        head_hidden: 8, batch_size: 8}
params:
  learning_rate: {type: float, low: 1.0e-3, high: 1.0e-2, log: true}
"""
TINY_OBJECTIVE = """model: nhits
budget: {max_epochs: 2, patience: 2, batches_per_epoch: 3, train_eval_rows: 64}
pruner: {type: none}
sampler: {type: random}
"""


@pytest.fixture(autouse=True)
def _in_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # the commands read search_spaces/ from the checkout then
    return cwd


def tiny_project(cwd: Path) -> None:
    for folder, text in (("search_spaces", TINY_SPACE), ("objectives", TINY_OBJECTIVE)):
        (cwd / folder).mkdir()
        (cwd / folder / "nhits.yaml").write_text(text)


def search_args(storage: str, *, data: Path, study: str, trials: int = 1) -> list[str]:
    """`harness search` for an nhits study of one-batch, one-epoch trials."""
    return [
        "search",
        "--model",
        "nhits",
        "--data",
        str(data),
        "--trials",
        str(trials),
        "--epochs",
        "1",
        "--max-batches",
        "1",
        "--storage",
        storage,
        "--study",
        study,
    ]


def train(data: Path, log: Path, *sets: str) -> int:
    argv = ["train", "--model", "nhits", "--data", str(data), "--epochs", "2"]
    argv += ["--max-batches", "2", "--log", str(log)]
    for item in ("seq_len=16", "mlp_units=32", *sets):
        argv += ["--set", item]
    return main(argv)


# --- one budget -----------------------------------------------------------------------------


def test_train_and_a_search_trial_train_the_same_batches_per_epoch(
    tiny_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny_project(Path.cwd())
    steps: Counter[tuple[int, int]] = Counter()  # (run, epoch) -> training batches
    original = Phase2Module.training_step

    def counted(self: Phase2Module, *args: Any, **kwargs: Any) -> Any:
        steps[(id(self), self.current_epoch)] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Phase2Module, "training_step", counted)
    cap = ["--max-batches", "5"]  # above the objective's 3 batches per epoch: the budget wins
    assert main(["train", "--model", "nhits", "--data", str(tiny_dataset), *cap]) == 0
    trained = dict(steps)
    steps.clear()
    storage = f"sqlite:///{tmp_path}/s.db"
    argv = ["search", "--model", "nhits", "--data", str(tiny_dataset), "--trials", "1", *cap]
    assert main([*argv, "--storage", storage]) == 0

    assert sorted(trained.values()) == [3, 3]  # 2 epochs of 3 batches
    assert sorted(steps.values()) == sorted(trained.values())


# --- check-data -----------------------------------------------------------------------------


def test_check_data_summarizes_a_valid_dataset(
    tiny_dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-data", "--data", str(tiny_dataset)]) == 0
    out = capsys.readouterr().out
    assert "240 rows, 3 features, horizons 1, 5" in out
    assert "rows per symbol and split" in out and "label shares" in out
    # hourly bars around the clock, from train and val; no split skips a row
    assert re.search(r"MES +│ 8,766 +│ 0/0/0 +│ 0/0/0 ", out)


def test_check_data_prints_bars_per_year_and_holes_per_symbol(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames, splits = tiny_frames(), tiny_splits()
    frames["MGC"]["timestamp"] = pd.date_range("2024-01-01", periods=120, freq="D")  # daily
    splits["val"] = splits["val"][~np.isin(splits["val"], [75, 76, 85])]  # MES val: 2 holes
    assert main(["check-data", "--data", str(write_dataset(tmp_path, frames, splits))]) == 0
    out = capsys.readouterr().out
    assert re.search(r"MES +│ 8,766 +│ 0/2/0 +│ 0/3/0 ", out)
    assert re.search(r"MGC +│ 365 +│ 0/0/0 +│ 0/0/0 ", out)


@pytest.mark.parametrize(
    "command",
    [
        ["check-data"],
        ["train", "--model", "nhits"],
        ["search", "--model", "nhits", "--trials", "1"],
        ["finalize", "--model", "nhits"],
        ["verify-results"],
    ],
    ids=lambda c: c[0],
)
def test_bad_data_is_one_line_and_exit_code_2_for_every_command(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames, splits = tiny_frames(), tiny_splits()
    frames["MGC"].loc[[3, 4], "feature_1"] = float("nan")
    root = write_dataset(tmp_path / "bad", frames, splits)
    storage = (
        ["--storage", f"sqlite:///{tmp_path}/s.db"] if command[0] in ("search", "finalize") else []
    )

    assert main([*command, "--data", str(root), *storage]) == 2

    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err
    assert "feature_1" in err and "MGC" in err


# --- train ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("_as_on_a_cpu")
def test_train_logs_config_and_epochs(
    tiny_dataset: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: rich wraps its lines at the width
    log = tmp_path / "logs" / "nhits.log"
    assert train(tiny_dataset, log, "learning_rate=3e-3") == 0

    lines = log.read_text().splitlines()
    assert len(lines) == 3
    head, _, text = lines[0].partition(" ")
    assert head == "config"
    config = json.loads(text)
    assert config["model"] == "nhits"
    assert (config["seq_len"], config["mlp_units"]) == (16, 32)
    assert config["learning_rate"] == 3.0e-3  # "3e-3" read as a float, not a string
    # the rest: the space file's fixed values, the cpu profile's over the top level's
    assert (config["head_hidden"], config["warmup_batches"]) == (0, 32)
    assert config["symbol_scaling"] is True
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
    assert os.listdir(Path.cwd()) == []  # the log went where --log said, nothing else was written


def test_table_rows_are_not_wrapped_when_piped(
    tiny_dataset: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert train(tiny_dataset, tmp_path / "train.log") == 0
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
        ("learning_rate", "KEY=VALUE"),  # no value
    ],
)
def test_bad_set_exits_2_naming_the_key(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], item: str, named: str
) -> None:
    log = tmp_path / "train.log"
    assert train(tiny_dataset, log, item) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and named in err
    assert not log.exists()  # rejected before training started


@pytest.mark.parametrize(("flag", "value"), [("--epochs", "0"), ("--max-batches", "-1")])
def test_caps_below_one_exit_2(
    tiny_dataset: Path, flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "--model", "nhits", "--data", str(tiny_dataset), flag, value]
    assert main(argv) == 2
    assert f"argument {flag}: must be >= 1, got {value}" in capsys.readouterr().err


# --- search, status -------------------------------------------------------------------------


def test_a_bad_space_is_exit_code_2_naming_file_and_key(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "space.yaml"
    path.write_text("model: nhits\nfixed: {nope: 1}\n")
    argv = search_args(f"sqlite:///{tmp_path}/s.db", data=tiny_dataset, study="x")
    assert main([*argv, "--space", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: fixed.nope: unknown key" in err and "Traceback" not in err


def test_a_space_folder_is_named_as_one(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = search_args(f"sqlite:///{tmp_path}/s.db", data=tiny_dataset, study="x")
    assert main([*argv, "--space", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_an_unknown_model_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--model", "lstm"]) == 2
    assert "invalid choice: 'lstm'" in capsys.readouterr().err


def test_the_cli_knows_every_registered_model() -> None:
    assert set(MODEL_NAMES) == set(MODELS)


def test_a_storage_that_cannot_connect_is_exit_code_2_without_its_password(
    tiny_dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_project(Path.cwd())  # the project's spaces want more rows than the tiny data has
    url = "postgresql://nobody:secret@127.0.0.1:9/none"
    assert main(search_args(url, data=tiny_dataset, study="x")) == 2
    err = capsys.readouterr().err
    assert "storage postgresql://nobody:***@127.0.0.1:9/none: cannot connect" in err
    assert "secret" not in err and "Traceback" not in err


def test_status_lists_the_study_and_another_dataset_cannot_join_it(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_project(Path.cwd())
    storage = f"sqlite:///{tmp_path}/s.db"
    assert main(search_args(storage, data=tiny_dataset, study="mine", trials=2)) == 0
    out = capsys.readouterr().out
    assert "trial   0 complete" in out and "trial   1 complete" in out
    assert main(["status", "--storage", storage]) == 0
    table = capsys.readouterr().out
    assert "mine" in table and "nhits" in table

    frames = tiny_frames(seed=5)
    other = write_dataset(tmp_path / "other", frames, tiny_splits())
    assert main(search_args(storage, data=other, study="mine", trials=3)) == 2
    err = capsys.readouterr().err
    assert "study 'mine' was made for another data_fingerprint" in err
    assert "--study NEW_NAME" in err


def test_search_output_in_a_pipe_shows_each_trials_epochs_and_no_control_codes(
    tiny_dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tiny_project(Path.cwd())  # 2 epochs of at most 3 batches
    original = Phase2Module.training_step

    def slow(self: Phase2Module, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.6)  # an epoch outlasts the display's one-second look at the storage
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Phase2Module, "training_step", slow)
    argv = search_args(f"sqlite:///{tmp_path}/s.db", data=tiny_dataset, study="mine")
    argv[argv.index("--epochs") + 1] = "2"
    argv[argv.index("--max-batches") + 1] = "3"
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert re.search(r"^trial   0  epoch 0/2  \S+ s$", out, re.MULTILINE)
    assert re.search(r"^trial   0  epoch 1/2  last \S+  best \S+  \S+ s$", out, re.MULTILINE)
    assert "estimating time and memory: timing training batches of the default config...\n" in out


def test_overfit_gives_each_horizons_pbo_from_the_trials_stored_beside_the_database(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_project(Path.cwd())
    storage = f"sqlite:///{tmp_path}/s.db"
    assert main(search_args(storage, data=tiny_dataset, study="mine", trials=3)) == 0
    assert any((tmp_path / "artifacts").iterdir())  # beside s.db
    capsys.readouterr()
    argv = ["overfit", "--model", "nhits", "--data", str(tiny_dataset), "--storage", storage]
    assert main([*argv, "--study", "mine", "--pbo-blocks", "4"]) == 0
    out = capsys.readouterr().out
    for h in HORIZONS:
        assert re.search(
            rf"{h}-bar Sharpe: PBO [01]\.\d{{3}} over 3 of 3 complete trials, 36 val", out
        )
    assert re.search(r"by the score: PBO [01]\.\d{3} over 3 of 3 complete trials, 36 val", out)
    assert main([*argv, "--study", "mine", "--blocks", "3"]) == 2  # the old spelling
    err = capsys.readouterr().err
    assert "note: --blocks is deprecated and goes in the next version: use --pbo-blocks" in err
    assert "even" in err
    empty = tmp_path / "elsewhere"
    assert main([*argv, "--study", "mine", "--pbo-blocks", "4", "--artifacts", str(empty)]) == 0
    assert "n/a: 0 complete trial(s) with stored val predictions" in capsys.readouterr().out


# --- profiles -------------------------------------------------------------------------------


@pytest.fixture
def _as_on_a_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """The device's profile is the CPU's, whatever this machine has."""
    import torch

    cpu = torch.device("cpu")
    for where in ("harness.devices", "harness.search.workers", "harness.training.recipe"):
        monkeypatch.setattr(f"{where}.device_for_training", lambda: cpu)


@pytest.mark.usefixtures("_as_on_a_cpu")
def test_search_says_its_profile_first_then_its_estimate(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_project(Path.cwd())
    storage = f"sqlite:///{tmp_path}/s.db"
    argv = ["search", "--model", "nhits", "--data", str(tiny_dataset), "--trials", "1"]
    assert main([*argv, "--storage", storage]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("profile cpu: the default when training on the CPU")
    assert lines[1].startswith("estimating time and memory: ")  # said while it runs
    assert lines[2].startswith("estimate: ") and "per epoch" in lines[2] and "per trial" in lines[2]
    assert lines[3].startswith("memory: the largest config")
    assert lines[4].startswith("running trials until 1 finished in study nhits-cpu-")
    assert any(line.startswith("trial   0 complete") for line in lines[5:])


def test_profile_seed_is_recorded_and_names_the_study(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import optuna

    from harness.data import load_phase1

    tiny_project(Path.cwd())
    storage = f"sqlite:///{tmp_path}/s.db"
    argv = ["search", "--model", "nhits", "--data", str(tiny_dataset), "--trials", "1"]
    assert main([*argv, "--storage", storage, "--profile", "seed"]) == 0
    assert capsys.readouterr().out.startswith("profile seed: chosen with --profile")
    name = f"nhits-seed-{load_phase1(tiny_dataset).fingerprint[:8]}"
    assert optuna.load_study(study_name=name, storage=storage).user_attrs["profile"] == "seed"


@pytest.mark.parametrize("command", ["train", "search"])
def test_an_unknown_profile_is_exit_2_naming_the_known_ones_and_the_file(
    command: str, tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [command, "--model", "tft", "--data", str(tiny_dataset), "--profile", "laptop"]
    if command == "search":
        argv += ["--storage", f"sqlite:///{tmp_path}/s.db"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before the first line
    assert "unknown profile 'laptop': the known ones are seed, cpu" in captured.err
    assert "search_spaces/tft.yaml" in captured.err and "objectives/tft.yaml" in captured.err


@pytest.mark.usefixtures("_as_on_a_cpu")
def test_train_says_its_profile_first(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert train(tiny_dataset, tmp_path / "train.log") == 0
    assert capsys.readouterr().out.startswith("profile cpu: the default when training on the CPU")


@pytest.mark.slow
def test_finalize_trains_at_the_profile_its_study_recorded(
    tiny_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_project(Path.cwd())
    storage = f"sqlite:///{tmp_path}/s.db"
    argv = ["search", "--model", "nhits", "--data", str(tiny_dataset), "--trials", "1"]
    assert main([*argv, "--storage", storage, "--profile", "seed"]) == 0
    capsys.readouterr()
    out = tmp_path / "results"
    argv = ["finalize", "--model", "nhits", "--data", str(tiny_dataset), "--storage", storage]
    assert main([*argv, "--out", str(out)]) == 0  # on this CPU: the study's seed profile
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("profile seed: as recorded by study 'nhits-seed-")
    assert "whatever the device" in first
    assert (out / "models" / "nhits_final.pth").is_file()


def test_demo_data_stopped_half_way_leaves_no_file_and_the_rerun_writes_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.data import demo

    write = demo._write_parquet
    calls = []

    def second_fails(frame: pd.DataFrame, path: Path) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        write(frame, path)

    out = tmp_path / "demo"
    args = ["demo-data", "--out", str(out), "--days", "3"]
    monkeypatch.setattr(demo, "_write_parquet", second_fails)
    assert main(args) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert [p for p in out.rglob("*") if p.is_file()] == []  # the first symbol's file too

    monkeypatch.setattr(demo, "_write_parquet", write)
    assert main(args) == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == [
        "config/splits/test_indices.npy",
        "config/splits/train_indices.npy",
        "config/splits/val_indices.npy",
        "data/final/MES_final_labeled.parquet",
        "data/final/MGC_final_labeled.parquet",
    ]
    said = " ".join(capsys.readouterr().out.split())
    assert f"wrote a demo dataset to {out}: 1,536 rows (MES 768, MGC 768)" in said


def test_every_option_of_every_command_has_help_and_help_shows_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import argparse

    from harness.cli import _parser

    parser = _parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in sub.choices.items():
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"harness {name} {'/'.join(action.option_strings)}: no help"
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    assert "(default: 50)" in capsys.readouterr().out  # --trials


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    import harness

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"harness {harness.__version__}"


# --- exit codes: one meaning each -------------------------------------------------------------


def _raising(exc: BaseException) -> Any:
    def run(*_: object, **__: object) -> None:
        raise exc

    return run


@pytest.mark.parametrize(
    ("raised", "code", "says"),
    [
        (None, 0, ""),
        (HarnessError("bad input"), 2, "error: bad input"),
        (WorkFailed("worker 0: 5 trials in a row failed"), 1, "error: worker 0: 5 trials"),
        (RuntimeError("a bug"), 1, "error: unexpected RuntimeError: a bug (traceback in "),
        (KeyboardInterrupt(), 130, "interrupted (Ctrl-C): "),
        (Terminated(), 143, "interrupted (SIGTERM): "),
    ],
)
def test_each_exit_code_means_one_thing(
    raised: BaseException | None,
    code: int,
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    storage = f"sqlite:///{tmp_path}/s.db"
    optuna.storages.RDBStorage(storage)  # an empty storage: status reads it
    if raised is not None:
        monkeypatch.setattr("harness.search.storage_status", _raising(raised))
    assert main(["status", "--storage", storage]) == code
    err = capsys.readouterr().err
    assert err.startswith(says) and err.count("\n") == (0 if code == 0 else 1)
    if isinstance(raised, RuntimeError):
        log = Path(err.split("(traceback in ")[1].removesuffix(")\n"))
        assert "RuntimeError: a bug" in log.read_text() and "Traceback" not in err


def test_bad_usage_is_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--model", "lstm"]) == 2
    assert capsys.readouterr().err.startswith("error: harness search: argument --model")


def test_the_storage_can_come_from_the_environment_and_its_password_is_never_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("HARNESS_STORAGE", "postgresql://me:S3CRET@127.0.0.1:9/none")
    assert main(["status"]) == 2  # no server there
    out, err = capsys.readouterr()
    assert "postgresql://me:***@127.0.0.1:9/none" in err and "S3CRET" not in out + err
    monkeypatch.setenv("HARNESS_STORAGE", f"sqlite:///{tmp_path}/env.db")
    assert main(["search", "--model", "nhits", "--trials", "0"]) == 2  # refused before use
    assert main(["status"]) == 2  # a reader makes no storage: it names the env's file
    assert f"{tmp_path}/env.db" in capsys.readouterr().err


def test_a_dashboard_on_another_host_says_it_has_no_authentication(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = f"sqlite:///{tmp_path}/s.db"
    optuna.storages.RDBStorage(storage)
    bound = []

    class Server:  # stands in for wsgiref's: records the address, stops at the first request
        timeout = 0.0

        def handle_request(self) -> None:
            raise KeyboardInterrupt

        def server_close(self) -> None:
            pass

    def make_server(host: str, port: int, app: object) -> Server:
        bound.append((host, port))
        return Server()

    monkeypatch.setattr("wsgiref.simple_server.make_server", make_server)
    assert main(["dashboard", "--storage", storage, "--host", "0.0.0.0", "--port", "8123"]) == 0
    out = capsys.readouterr().out
    assert bound == [("0.0.0.0", 8123)] and "no authentication" in out
    assert main(["dashboard", "--storage", storage]) == 0
    assert bound[-1] == ("127.0.0.1", 8080) and "no authentication" not in capsys.readouterr().out


def test_a_dashboard_started_anywhere_serves_the_artifact_folder_its_studies_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.storage.artifacts import FOLDER_ATTR

    storage = f"sqlite:///{tmp_path}/s.db"
    shared = tmp_path / "shared"
    optuna.create_study(study_name="s", storage=storage).set_user_attr(FOLDER_ATTR, str(shared))

    class Server:  # stands in for wsgiref's: stops at the first request
        timeout = 0.0

        def handle_request(self) -> None:
            raise KeyboardInterrupt

        def server_close(self) -> None:
            pass

    monkeypatch.setattr("wsgiref.simple_server.make_server", lambda *_: Server())
    assert main(["dashboard", "--storage", storage]) == 2  # not there: one line, naming it
    err = capsys.readouterr().err
    assert f"artifact folder {shared}, recorded by study 's', does not exist here" in err
    shared.mkdir()
    assert main(["dashboard", "--storage", storage]) == 0
    assert f"; artifacts from {shared} (Ctrl-C stops it)" in capsys.readouterr().out


def test_a_search_on_a_loaded_machine_warns_that_it_will_crawl(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.api import _say_load

    said: list[str] = []
    monkeypatch.setattr("harness.constants.usable_cores", lambda: 2)
    monkeypatch.setattr("os.getloadavg", lambda: (1.9, 1.0, 1.0))  # another torch process
    _say_load(2, say=said.append)
    assert len(said) == 1 and "about 0.1 of its 2 cores free for the 2 threads" in said[0]
    monkeypatch.setattr("os.getloadavg", lambda: (0.1, 0.0, 0.0))
    _say_load(2, say=said.append)
    assert len(said) == 1  # an idle machine: nothing said
