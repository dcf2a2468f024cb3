"""The faults a real user hits, walked through every command.

A table of bad arguments, bad datasets and bad storages: each is exit code 2 and one line on
stderr, no traceback, no password, nothing left RUNNING and nothing written. Then Ctrl-C as a
terminal sends it (to the process group): exit code 130, one line with the command that
resumes, every trial closed. Then what must work: other horizons, other time zones, names that
look like markup.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from sqlalchemy.exc import SQLAlchemyError

import harness
from harness.cli import main
from tests.conftest import tiny_frames, tiny_splits, write_dataset
from tests.test_cli import TINY_OBJECTIVE, TINY_SPACE

SECRET = "hunter2"
# An objective whose trials run long enough to be interrupted (tests of Ctrl-C).
LONG_OBJECTIVE = """model: nhits
budget: {max_epochs: 500, patience: 500, batches_per_epoch: 3, train_eval_rows: 64}
pruner: {type: none}
sampler: {type: random}
"""


@dataclass(frozen=True)
class Env:
    """A project folder (the tiny space and objective) beside datasets good and bad."""

    root: Path  # the working folder of the command
    data: Path  # a valid tiny dataset
    db: Path  # where the storage lives, when one is made

    @property
    def storage(self) -> str:
        return f"sqlite:///{self.db}"

    def dataset(self, name: str, frames: dict[str, pd.DataFrame]) -> Path:
        return write_dataset(self.root / name, frames, tiny_splits())


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    root = tmp_path / "project"
    for folder, text in (("search_spaces", TINY_SPACE), ("objectives", TINY_OBJECTIVE)):
        (root / folder).mkdir(parents=True)
        (root / folder / "nhits.yaml").write_text(text)
    monkeypatch.chdir(root)
    data = write_dataset(tmp_path / "data", tiny_frames(), tiny_splits())
    (root / "a_file").write_text("not a folder")
    return Env(root=root, data=data, db=tmp_path / "studies" / "s.db")


# --- bad datasets --------------------------------------------------------------------------------


def mixed_zones(env: Env) -> Path:
    frames = tiny_frames()
    frames["MES"]["timestamp"] = frames["MES"]["timestamp"].dt.tz_localize("America/Chicago")
    return env.dataset("mixed_zones", frames)  # MGC stays naive


def no_val_window(env: Env) -> Path:
    """Missing features in the rows between train and val: val rows have little history."""
    frames = tiny_frames()
    for frame in frames.values():
        frame.loc[66:71, "feature_0"] = np.nan  # the gap rows, in no split
    return env.dataset("no_val_window", frames)


def horizon_objective(env: Env) -> Path:
    path = env.root / "objective_h20.yaml"
    path.write_text(TINY_OBJECTIVE + "score: {horizons: [1, 20]}\n")
    return path


def read_only_storage(env: Env) -> str:
    """A SQLite file opened read-only (as the file's mode would, whoever runs the test)."""
    env.db.parent.mkdir(parents=True)
    optuna.create_study(study_name="other", storage=env.storage)
    return f"sqlite:///file:{env.db}?mode=ro&uri=true"


def search(env: Env, *extra: str, data: Path | None = None) -> list[str]:
    argv = ["search", "--model", "nhits", "--trials", "1", "--data", str(data or env.data)]
    return [*argv, "--storage", env.storage, "--study", "s", "--epochs", "1", *extra]


def train(env: Env, *extra: str, data: Path | None = None) -> list[str]:
    log = env.root / "logs" / "train.log"
    return ["train", "--model", "nhits", "--data", str(data or env.data), "--log", str(log), *extra]


def finalize(env: Env, *extra: str) -> list[str]:
    argv = ["finalize", "--model", "nhits", "--data", str(env.data), "--storage", env.storage]
    return [*argv, "--study", "s", "--out", str(env.root / "results"), *extra]


PG = f"postgresql://me:{SECRET}@127.0.0.1:9/none"


def latin1_space(env: Env) -> Path:
    path = env.root / "latin1.yaml"
    path.write_bytes(b"# caf\xe9\n" + TINY_SPACE.encode())  # saved as Latin-1, not UTF-8
    return path


# name -> (argv of the command, words its one line must hold)
CASES: dict[str, tuple[Callable[[Env], list[str]], str]] = {
    # bad numbers
    "search --trials 0": (lambda e: search(e, "--trials", "0"), "--trials: must be >= 1"),
    "search --jobs 0": (lambda e: search(e, "--jobs", "0"), "--jobs: must be >= 1"),
    "search --epochs 0": (lambda e: search(e, "--epochs", "0"), "--epochs: must be >= 1"),
    "search --max-batches 0": (lambda e: search(e, "--max-batches", "0"), "must be >= 1"),
    "search --timeout -5": (lambda e: search(e, "--timeout", "-5"), "must be > 0 seconds"),
    "search --seed -1": (lambda e: search(e, "--seed", "-1"), "--seed: must be >= 0"),
    "search --trials x": (lambda e: search(e, "--trials", "x"), "expected a whole number"),
    "train --epochs 0": (lambda e: train(e, "--epochs", "0"), "--epochs: must be >= 1"),
    "train --seed -1": (lambda e: train(e, "--seed", "-1"), "--seed: must be >= 0"),
    "finalize --members 0": (lambda e: finalize(e, "--members", "0"), "--members: must be >= 1"),
    "demo-data --days -1": (
        lambda e: ["demo-data", "--out", str(e.root / "demo"), "--days", "-1"],
        "--days: must be >= 1",
    ),
    "demo-data --seed -1": (
        lambda e: ["demo-data", "--out", str(e.root / "demo"), "--seed", "-1"],
        "--seed: must be >= 0",
    ),
    "dashboard --port -1": (lambda e: ["dashboard", "--port", "-1"], "1 to 65535"),
    "dashboard --port 70000": (lambda e: ["dashboard", "--port", "70000"], "1 to 65535"),
    "verify-results --model lstm": (
        lambda e: ["verify-results", "--model", "lstm"],
        "invalid choice: 'lstm'",
    ),
    # bad paths and files
    "search --space DIR": (lambda e: search(e, "--space", str(e.root)), "is a folder"),
    "search: a space file with a byte that is not UTF-8": (
        lambda e: search(e, "--space", str(latin1_space(e))),
        "latin1.yaml: byte 0xe9 at offset 5 is not UTF-8",
    ),
    "search: objective names a horizon the data lacks": (
        lambda e: search(e, "--objective", str(horizon_objective(e))),
        "score.horizons: 20 not in the data, whose horizons are 1, 5",
    ),
    "finalize --out FILE": (
        lambda e: [*finalize(e)[:-1], str(e.root / "a_file")],
        "a_file is a file",
    ),
    "demo-data --out FILE": (
        lambda e: ["demo-data", "--out", str(e.root / "a_file")],
        "is a file",
    ),
    "train --log under a file": (
        lambda e: [*train(e)[:-2], "--log", str(e.root / "a_file" / "x.log")],
        "a_file",
    ),
    # bad datasets
    "train: seq_len leaves train without a window": (
        lambda e: train(e, "--set", "seq_len=100"),
        "the train split has no row with a full window of seq_len=100",
    ),
    "train: val rows without a window": (
        lambda e: train(e, "--set", "seq_len=32", data=no_val_window(e)),
        "the val split has no row with a full window of seq_len=32",
    ),
    "search: val rows without a window": (
        lambda e: search(e, "--space", str(e.root / "long.yaml"), data=no_val_window(e)),
        "MES has 18 val rows with at most 18 rows of history",
    ),
    "check-data: time zones and naive timestamps": (
        lambda e: ["check-data", "--data", str(mixed_zones(e))],
        "carry a time zone",
    ),
    "search: time zones and naive timestamps": (
        lambda e: search(e, data=mixed_zones(e)),
        "give every timestamp a zone, or none",
    ),
    # bad storages
    "search: storage read-only": (
        lambda e: [*search(e)[:-6], "--storage", read_only_storage(e), "--study", "s"],
        "cannot write (attempt to write a readonly database)",
    ),
    "search: storage folder under a file": (
        lambda e: [*search(e)[:-6], "--storage", f"sqlite:///{e.root}/a_file/s.db"],
        "a_file is a file",
    ),
    "search: storage unreachable, with a password": (
        lambda e: [*search(e)[:-6], "--storage", PG],
        "postgresql://me:***@127.0.0.1:9/none: cannot connect",
    ),
    "status: storage folder missing": (
        lambda e: ["status", "--storage", f"sqlite:///{e.root}/nowhere/s.db"],
        "no database at",
    ),
    "status: storage unreachable, with a password": (
        lambda e: ["status", "--storage", PG],
        "cannot connect",
    ),
    "finalize: storage folder missing": (
        lambda e: [*finalize(e)[:5], "--storage", f"sqlite:///{e.root}/nowhere/s.db"],
        "no database at",
    ),
    "dashboard: storage folder missing": (
        lambda e: ["dashboard", "--storage", f"sqlite:///{e.root}/nowhere/s.db"],
        "no database at",
    ),
}


def files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def running_trials(env: Env) -> list[int]:
    if not env.db.is_file():
        return []
    storage = optuna.storages.RDBStorage(env.storage, skip_table_creation=True)
    return [
        t.number
        for s in optuna.get_all_study_summaries(storage)
        for t in optuna.load_study(study_name=s.study_name, storage=storage).trials
        if t.state == TrialState.RUNNING
    ]


@pytest.mark.parametrize("case", list(CASES))
def test_every_command_refuses_bad_input_in_one_line(
    case: str, env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    (env.root / "long.yaml").write_text(TINY_SPACE.replace("seq_len: 16", "seq_len: 32"))
    make_argv, says = CASES[case]
    argv = make_argv(env)  # may write the bad dataset or file it names
    before = files(env.root.parent)

    code = main(argv)

    out, err = capsys.readouterr()
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert says in err
    assert "Traceback" not in err and SECRET not in out + err
    assert running_trials(env) == []
    assert files(env.root.parent) == before  # no partial output, no storage made


def test_a_data_error_names_the_file_and_rows_in_one_line(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = tiny_frames()
    frames["MGC"]["timestamp"] = frames["MGC"]["timestamp"].astype(str)
    frames["MGC"].loc[5, "timestamp"] = "not a date"
    assert main(["check-data", "--data", str(env.dataset("bad_dates", frames))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not parseable as dates" in err and "not a date" in err


# --- Ctrl-C, as a terminal sends it --------------------------------------------------------------


def command(env: Env, argv: list[str], log: Path) -> subprocess.Popen[str]:
    """`python -m harness ARGV` in a session of its own, so Ctrl-C can go to its whole group."""
    src = str(Path(harness.__file__).parents[1])
    return subprocess.Popen(
        [sys.executable, "-m", "harness", *argv],
        cwd=env.root,
        env={**os.environ, "PYTHONPATH": src, "COLUMNS": "300"},
        stdout=log.open("w"),
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for(
    proc: subprocess.Popen[str], ready: Callable[[], bool], what: str, timeout: float = 240.0
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode} before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def wait_for_running(proc: subprocess.Popen[str], env: Env, n: int) -> None:
    """Until `n` trials of the study are running with their config recorded (training)."""
    wait_for(
        proc,
        lambda: (
            sum(t.state == TrialState.RUNNING and "config" in t.user_attrs for t in trials_of(env))
            == n
        ),
        f"{n} running trials",
    )


def ctrl_c(proc: subprocess.Popen[str]) -> tuple[int, str]:
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does: the whole foreground group
    _, err = proc.communicate(timeout=180)
    return proc.returncode, err


def stop(proc: subprocess.Popen[str], how: str) -> tuple[int, str]:
    """Ctrl-C as a terminal sends it, or SIGTERM as a scheduler or `docker stop` sends it: to
    the command's own process only (its workers hear of it from their parent)."""
    if how == "Ctrl-C":
        return ctrl_c(proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=180)
    return proc.returncode, err


def group_is_gone(proc: subprocess.Popen[str]) -> bool:
    """No process of the command's session is left (no worker outlived it)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


STOPS = [("Ctrl-C", 130), ("SIGTERM", 143)]


def trials_of(env: Env) -> list[optuna.trial.FrozenTrial]:
    """The trials of study "s", read without creating anything (none while the search starts)."""
    if not env.db.is_file():
        return []
    try:
        url = f"sqlite:///file:{env.db}?mode=ro&uri=true"  # never a write beside the search's
        storage = optuna.storages.RDBStorage(url, skip_table_creation=True)
        return optuna.load_study(study_name="s", storage=storage).get_trials()
    except (KeyError, optuna.exceptions.StorageInternalError, SQLAlchemyError):
        return []


def long_project(env: Env) -> None:
    (env.root / "objectives" / "nhits.yaml").write_text(LONG_OBJECTIVE)


@pytest.mark.slow
@pytest.mark.parametrize(("how", "exit_code"), STOPS)
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_stop_in_search_fails_every_running_trial_and_says_how_to_resume(
    env: Env, tmp_path: Path, jobs: int, how: str, exit_code: int
) -> None:
    long_project(env)
    argv = ["search", "--model", "nhits", "--trials", "5", "--jobs", str(jobs)]
    argv += ["--data", str(env.data), "--storage", env.storage, "--study", "s"]
    proc = command(env, argv, tmp_path / "out.txt")
    wait_for_running(proc, env, jobs)

    code, err = stop(proc, how)

    assert code == exit_code, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"interrupted ({how}): the running trial is marked failed")
    assert f"Resume with: harness {' '.join(argv)}" in err
    trials = trials_of(env)
    assert [t.state for t in trials] == [TrialState.FAIL] * jobs
    assert {t.user_attrs["fail_reason"] for t in trials} == {f"interrupted ({how})"}
    assert group_is_gone(proc)


@pytest.mark.slow
@pytest.mark.parametrize(("how", "exit_code"), STOPS)
def test_a_stop_in_train_exits_with_its_code_and_the_command_to_run_again(
    env: Env, tmp_path: Path, how: str, exit_code: int
) -> None:
    long_project(env)
    log = env.root / "logs" / "train.log"
    proc = command(env, train(env), tmp_path / "out.txt")
    wait_for(proc, lambda: log.is_file() and "\nepoch " in log.read_text(), "a trained epoch")

    code, err = stop(proc, how)

    assert code == exit_code, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"interrupted ({how}): training stopped")
    assert "harness train --model nhits" in err
    stopped = "Terminated" if how == "SIGTERM" else "KeyboardInterrupt"
    assert log.read_text().splitlines()[-1] == f"stopped: {stopped}: "


@pytest.mark.slow
@pytest.mark.parametrize(("how", "exit_code"), STOPS)
def test_a_stop_in_finalize_exits_with_its_code_and_leaves_no_partial_output(
    env: Env, tmp_path: Path, how: str, exit_code: int
) -> None:
    long_project(env)
    assert main(search(env)) == 0  # one trial of one epoch: --epochs 1
    out = tmp_path / "out.txt"
    proc = command(env, finalize(env), out)  # retrains it for the objective's 500 epochs
    wait_for(proc, lambda: out.is_file() and "member 1/1: training" in out.read_text(), "training")
    time.sleep(2)

    code, err = stop(proc, how)

    assert code == exit_code, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"interrupted ({how}): ")
    assert "Resume with: harness finalize --model nhits" in err
    assert not list((env.root / "results").rglob("nhits*"))  # the reference, done first, stays


def test_the_resume_line_hides_the_password_and_says_so(
    env: Env, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("harness.storage.open_storage", interrupted)
    assert main(["status", "--storage", PG]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and SECRET not in err
    assert "harness status --storage 'postgresql://me:***@127.0.0.1:9/none'" in err
    assert "password is shown as ***" in err


# --- what must work ------------------------------------------------------------------------------


def test_other_horizons_train_and_score(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    frames = tiny_frames()
    for frame in frames.values():
        frame.rename(
            columns={
                "label_1": "label_2",
                "label_5": "label_10",
                "sample_weight_1": "sample_weight_2",
                "sample_weight_5": "sample_weight_10",
            },
            inplace=True,
        )
    data = env.dataset("horizons", frames)
    assert main(search(env, "--trials", "2", data=data)) == 0
    trials = trials_of(env)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    assert {k for k in trials[0].user_attrs if k.startswith("val_macro_f1_h")} == {
        "val_macro_f1_h2",
        "val_macro_f1_h10",
    }


def test_timestamps_in_two_time_zones_become_utc(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = tiny_frames()
    frames["MES"]["timestamp"] = frames["MES"]["timestamp"].dt.tz_localize("America/Chicago")
    frames["MGC"]["timestamp"] = frames["MGC"]["timestamp"].dt.tz_localize("Asia/Tokyo")
    data = env.dataset("zones", frames)
    assert main(["check-data", "--data", str(data)]) == 0

    from harness.data import load_phase1

    stamps = load_phase1(data).frame.groupby("symbol")["timestamp"].first()
    assert stamps["MES"] == pd.Timestamp("2024-01-01 06:00")  # midnight in Chicago, in UTC
    assert stamps["MGC"] == pd.Timestamp("2023-12-31 15:00")  # midnight in Tokyo


def test_names_that_look_like_markup_are_printed_as_they_are(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = f"sqlite:///{env.root}/a[run]/s.db"
    argv = search(env, "--study", "x[/]y")
    argv[argv.index(env.storage)] = storage
    assert main(argv) == 0
    assert main(["status", "--storage", storage]) == 0
    assert "x[/]y" in capsys.readouterr().out
    assert (
        main(
            [
                "finalize",
                "--model",
                "nhits",
                "--data",
                str(env.data),
                "--storage",
                storage,
                "--study",
                "x[/]y",
                "--epochs",
                "1",
                "--out",
                str(env.root / "[b]out"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "study 'x[/]y'" in out and "[b]out" in out


def test_a_read_only_database_file_is_one_line_for_search_and_read_by_status(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(search(env)) == 0
    mode = env.db.stat().st_mode
    env.db.chmod(0o444)
    env.db.parent.chmod(0o555)
    try:
        if os.access(env.db, os.W_OK):
            pytest.skip("this user writes read-only files (root)")
        capsys.readouterr()
        assert main(search(env, "--trials", "2")) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is read-only" in err
        assert main(["status", "--storage", env.storage]) == 0
    finally:
        env.db.parent.chmod(0o755)
        env.db.chmod(mode)


# --- the environment: a full disk ----------------------------------------------------------------


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` at `where`: a disk that fills. Needs root and a kernel that lets this
    process mount (skips with the reason elsewhere)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    where.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> None:
    """Write a file until the disk has no byte left."""
    with (disk / "filler").open("wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)


@pytest.mark.slow
def test_a_full_disk_during_a_search_is_one_line_naming_the_storage(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with small_disk(tmp_path / "disk", "4m") as disk:
        env = dataclasses.replace(env, db=disk / "s.db")
        assert main(search(env)) == 0  # one finished trial
        fill(disk)
        code = main(search(env, "--trials", "2"))
        err = capsys.readouterr().err
        assert code == 2, err
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
        assert f"storage {env.storage}: cannot write (database or disk is full)" in err
        (disk / "filler").unlink()
        finished = [t for t in trials_of(env) if t.state == TrialState.COMPLETE]
        assert len(finished) == 1  # the finished trial is kept


@pytest.mark.slow
def test_a_full_disk_during_finalize_is_one_line_naming_the_folder(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(search(env)) == 0
    with small_disk(tmp_path / "disk", "4m") as disk:
        (disk / "results").mkdir()
        fill(disk)
        code = main([*finalize(env)[:-2], "--out", str(disk / "results")])
        err = capsys.readouterr().err
        assert code == 2, err
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
        assert str(disk / "results") in err and "No space left on device" in err
        assert not any(p.is_file() for p in (disk / "results").rglob("*"))


MEDIUM_OBJECTIVE = LONG_OBJECTIVE.replace(
    "max_epochs: 500, patience: 500", "max_epochs: 8, patience: 8"
)


@pytest.mark.slow
def test_sigterm_to_a_two_worker_search_leaves_nothing_running_and_the_same_command_resumes(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (env.root / "objectives" / "nhits.yaml").write_text(MEDIUM_OBJECTIVE)
    argv = ["search", "--model", "nhits", "--trials", "6", "--jobs", "2"]
    argv += ["--data", str(env.data), "--storage", env.storage, "--study", "s"]
    proc = command(env, argv, tmp_path / "out.txt")
    wait_for_running(proc, env, 2)
    code, err = stop(proc, "SIGTERM")  # to the parent alone, as `docker stop` sends it
    assert code == 143, err
    assert group_is_gone(proc)  # no worker outlived it
    assert not any(t.state == TrialState.RUNNING for t in trials_of(env))
    assert main(argv) == 0  # the same command: to the target
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials_of(env)) == 6
