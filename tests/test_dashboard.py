"""`harness dashboard` is the one process that serves: Ctrl-C or SIGTERM leaves nothing listening
and prints no traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import optuna
import pytest

import harness


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def dashboard(storage: str, log: Path, *extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`harness dashboard` on a free port, in a session of its own (so Ctrl-C can go to its
    group), answering HTTP; yields it and its address. Killed at the end if still running."""
    port = free_port()
    src = str(Path(harness.__file__).parents[1])
    argv = ["dashboard", "--storage", storage, "--port", str(port), *extra]
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", *argv],
        env={**os.environ, "PYTHONPATH": src},
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),  # a file: a pipe nobody reads fills with request logs and blocks
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/meta", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                raise AssertionError(f"exited {proc.returncode}: {log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError("the dashboard did not answer within 60 s")
            time.sleep(0.2)
        yield proc, url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def storage(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(study_name="s", storage=url)
    return url


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda p: p.send_signal(signal.SIGTERM), id="SIGTERM"),
        pytest.param(lambda p: os.killpg(p.pid, signal.SIGINT), id="Ctrl-C to the group"),
    ],
)
def test_a_stopped_dashboard_leaves_nothing_listening(
    storage: str, tmp_path: Path, stop: Callable[[subprocess.Popen[str]], None]
) -> None:
    log = tmp_path / "stderr.txt"
    with dashboard(storage, log) as (proc, url):
        port = int(url.rsplit(":", 1)[1])
        stop(proc)
        proc.wait(timeout=30)
        assert not listening(port)
    assert "Traceback" not in log.read_text()
