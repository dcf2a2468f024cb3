"""Ctrl-C as a request, honoured where the harness can close what it started.

Python raises KeyboardInterrupt wherever the main thread happens to be: in the middle of
Optuna recording a trial (which is then left RUNNING), or inside a garbage collector's callback,
where it is printed as "Exception ignored ... Traceback" and lost. Inside ``deferred()`` Ctrl-C
only records the request, and ``check()`` raises KeyboardInterrupt at the places that can take
it: before each training batch (``harness.training.fit``), before and after each trial and while
a search worker waits. A third Ctrl-C raises at once, for a user who will not wait.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

_presses = 0  # Ctrl-Cs since the outermost deferred() began
_depth = 0  # nested deferred() blocks


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _presses
    _presses += 1
    if _presses >= 3:
        raise KeyboardInterrupt


def request() -> None:
    """Ask for a stop as Ctrl-C would (a worker told by its parent, say)."""
    global _presses
    _presses = max(_presses, 1)


def requested() -> bool:
    return _presses > 0


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed: call where the caller can close up."""
    if _presses:
        raise KeyboardInterrupt


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Ctrl-C within the block is a request that ``check()`` raises. One pressed after the last
    check is raised when the outermost block ends. Outside the main thread: nothing changes."""
    global _depth, _presses
    if threading.current_thread() is not threading.main_thread():  # handlers live there
        yield
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if previous is not None:  # also undoes Lightning's SIG_IGN after a stop
            signal.signal(signal.SIGINT, previous)
        pending = _depth == 0 and _presses > 0
        if _depth == 0:
            _presses = 0
    if pending:
        raise KeyboardInterrupt
