"""Optuna's gRPC storage proxy: `harness storage-proxy` in front of a database, `grpc://` storages
in every command, and the many-machines recipe of docs/search.md run step for step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import optuna
import pytest
from optuna.storages import GrpcStorageProxy
from optuna.trial import TrialState

from harness.cli import main
from harness.modelfile import layout
from harness.storage import StorageError, open_storage
from harness.storage.artifacts import FOLDER_ATTR
from harness.storage.study import open_database
from tests.test_cli import tiny_project
from tests.test_dashboard import free_port, listening


@contextmanager
def proxy(storage: str, log: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`harness storage-proxy` for `storage` on a free port, in a session of its own, answering;
    yields it and its grpc:// URL. Killed at the end if still running."""
    port = free_port()
    argv = ["storage-proxy", "--storage", storage, "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", *argv],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    client = GrpcStorageProxy(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                client.wait_server_ready(timeout=1)
                break
            except ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"no proxy ({proc.poll()}): {log.read_text()}") from None
        yield proc, f"grpc://127.0.0.1:{port}"
    finally:
        client.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_proxy_serves_its_database_keeps_its_port_and_stops_cleanly(
    tmp_path: Path, stop: signal.Signals, capsys: pytest.CaptureFixture[str]
) -> None:
    database = f"sqlite:///{tmp_path}/s.db"  # made by the proxy, with Optuna's tables
    log = tmp_path / "proxy.log"
    with proxy(database, log) as (proc, url):
        study = optuna.create_study(study_name="through", storage=open_storage(url))
        study.set_user_attr("via", "grpc")
        stored = optuna.load_study(study_name="through", storage=open_database(database))
        assert stored.user_attrs == {"via": "grpc"}

        # gRPC binds with SO_REUSEPORT: a second proxy would share the port without the check
        port = url.rsplit(":", 1)[1]
        assert main(["storage-proxy", "--storage", database, "--port", port]) == 2
        err = capsys.readouterr().err
        assert f"127.0.0.1:{port}: cannot listen (Address already in use)" in err

        os.killpg(proc.pid, stop)  # as a terminal's Ctrl-C reaches the process group
        assert proc.wait(timeout=30) == 0
    assert log.read_text().splitlines() == [
        f"gRPC storage proxy for {database} on 127.0.0.1:{port} (Ctrl-C stops it)",
        "gRPC storage proxy stopped",
    ]
    assert not listening(int(port))


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("grpc://127.0.0.1:http", "expected grpc://HOST:PORT"),
        ("grpc://:13000", "expected grpc://HOST:PORT"),
        ("grpc://127.0.0.1:13000/db", "expected grpc://HOST:PORT"),
        ("grpc://127.0.0.1:1", "no gRPC storage proxy answered within 0.5 s"),
    ],
)
def test_a_bad_or_silent_grpc_storage_is_one_line(
    url: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harness.storage.study.PROXY_WAIT_SECONDS", 0.5)
    with pytest.raises(StorageError, match=f"^storage {url}: .*{says}"):
        open_storage(url)


def test_a_proxy_is_not_put_in_front_of_a_proxy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["storage-proxy", "--storage", "grpc://127.0.0.1:13000"]) == 2
    assert "a gRPC storage proxy, where a database is needed" in capsys.readouterr().err


# --- docs/search.md, "Many machines", step for step ---------------------------------------------


def postgres() -> str:
    url = os.environ.get("HARNESS_TEST_POSTGRES")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must provide a PostgreSQL server in HARNESS_TEST_POSTGRES")
        pytest.skip("no PostgreSQL server (set HARNESS_TEST_POSTGRES=postgresql://...)")
    return url


def harness(cwd: Path, env: dict[str, str], *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_three_machines_share_a_study_through_the_proxy_and_finalize_gives_their_pbo(
    tmp_path: Path, tiny_dataset: Path
) -> None:
    database = postgres()
    study, trials = f"proxy-{os.getpid()}-{time.time_ns()}", 6  # reruns do not collide
    shared = tmp_path / "shared-artifacts"  # the folder every machine mounts
    with proxy(database, tmp_path / "proxy.log") as (_, url):
        env = {**os.environ, "HARNESS_STORAGE": url}
        machines = []
        for k in range(3):
            cwd = tmp_path / f"machine-{k}"
            cwd.mkdir()
            tiny_project(cwd)  # each machine's checkout: the same space and objective
            machines.append(cwd)
        search = ["search", "--model", "nhits", "--trials", str(trials), "--profile", "cpu"]
        search += ["--data", str(tiny_dataset), "--study", study, "--artifacts", str(shared)]
        search += ["--epochs", "1", "--max-batches", "2", "--threads", "1"]
        workers = [harness(cwd, env, *search) for cwd in machines]
        for w in workers:
            out, _ = w.communicate(timeout=600)
            assert w.returncode == 0, out

        found = optuna.load_study(study_name=study, storage=open_storage(url))
        states = [t.state for t in found.trials]
        assert states == [TrialState.COMPLETE] * trials
        drawn = [t.params["learning_rate"] for t in found.trials]
        assert len(set(drawn)) == trials
        assert found.user_attrs[FOLDER_ATTR] == str(shared)

        elsewhere = tmp_path / "laptop"  # no project files, no --artifacts: the study says
        elsewhere.mkdir()
        finalize = ["finalize", "--model", "nhits", "--data", str(tiny_dataset)]
        finalize += ["--study", study, "--pbo-blocks", "4"]
        done = harness(elsewhere, env, *finalize)
        out, _ = done.communicate(timeout=600)
        assert done.returncode == 0, out
    report = json.loads((elsewhere / "results" / layout.metrics("nhits")).read_text())
    for h in (1, 5):
        overfit = report["overfitting"][str(h)]
        assert overfit["n_trials"] == trials and overfit["trials"] == list(range(trials))
        assert 0.0 <= overfit["pbo"] <= 1.0


def test_a_proxy_that_stops_answering_mid_search_is_one_storage_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import types

    import grpc

    from harness.search import workers
    from harness.storage import StorageError

    class Gone(grpc.RpcError):
        def code(self) -> grpc.StatusCode:
            return grpc.StatusCode.UNAVAILABLE

    def lost(*_: object) -> None:
        raise Gone()

    monkeypatch.setattr(workers, "_trials_until_done", lost)
    plan = types.SimpleNamespace(request=types.SimpleNamespace(storage="grpc://proxy:13000"))
    with pytest.raises(
        StorageError,
        match=r"grpc://proxy:13000: the storage proxy stopped "
        r"answering \(UNAVAILABLE\); start it again",
    ):
        workers._run_trials(plan, 0)  # type: ignore[arg-type]
