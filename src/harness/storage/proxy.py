"""`harness storage-proxy`: Optuna's gRPC storage proxy in front of one database.

Many workers, one database: each worker holds a single gRPC channel to the proxy
(``--storage grpc://HOST:PORT``) instead of its own database connections, and the proxy keeps
one pool and a cache of finished trials (Optuna's ``run_grpc_proxy_server`` over its cached RDB
storage, as Optuna's documentation advises).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

import optuna
from optuna.storages import get_storage, run_grpc_proxy_server

from harness import interrupts
from harness.storage.study import StorageError, open_database, redact


def serve_proxy(url: str, *, host: str, port: int, say: Callable[[str], None]) -> None:
    """Serve the database at `url` (made, with Optuna's tables, if need be) to gRPC clients on
    `host`:`port` until Ctrl-C or SIGTERM."""
    _check_free(host, port)
    storage = get_storage(open_database(url, create=True))
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our line says where it listens
    failed: list[BaseException] = []

    def serve() -> None:
        try:
            run_grpc_proxy_server(storage, host=host, port=port)
        except Exception as exc:  # a port in use, or an address this machine does not have
            failed.append(exc)

    # Optuna's server blocks until it is stopped and hands out no handle to stop it: it runs in a
    # daemon thread, which ends with the process, while the main thread takes Ctrl-C and SIGTERM.
    server = threading.Thread(target=serve, daemon=True, name="grpc-storage-proxy")
    server.start()
    say(f"gRPC storage proxy for {redact(url)} on {host}:{port} (Ctrl-C stops it)")
    with contextlib.suppress(KeyboardInterrupt), interrupts.deferred():
        while server.is_alive() and not interrupts.requested():
            server.join(timeout=0.25)
    if failed:
        raise _cannot_listen(host, port, failed[0])
    say("gRPC storage proxy stopped")


def _check_free(host: str, port: int) -> None:
    """Refuse a port another process listens on. gRPC binds with SO_REUSEPORT, so a second
    proxy on a port would share it with the first (each client reaching either) instead of
    failing; a plain bind, which that option does not join, finds the port taken."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        for family, kind, proto, _, address in found:
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
                probe.bind(address)
    except OSError as exc:
        raise _cannot_listen(host, port, exc) from None


def _cannot_listen(host: str, port: int, exc: BaseException) -> StorageError:
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return StorageError(
        f"storage proxy on {host}:{port}: cannot listen ({why}); pass another --port or --host"
    )
