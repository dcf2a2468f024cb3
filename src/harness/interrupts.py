"""Ctrl-C and SIGTERM as a request, honoured where the harness can close what it started.

Python raises KeyboardInterrupt wherever the main thread happens to be: in the middle of
Optuna recording a trial (which is then left RUNNING), or inside a garbage collector's callback,
where it is printed as "Exception ignored ... Traceback" and lost. Inside ``deferred()`` Ctrl-C
only records the request, and ``check()`` raises KeyboardInterrupt at the places that can take
it: before each training batch (``harness.training.fit``), before and after each trial and while
a search worker waits. A third Ctrl-C raises at once, for a user who will not wait.

SIGTERM (what SLURM, Kubernetes and `docker stop` send before SIGKILL) is the same request:
``Terminated``, a KeyboardInterrupt, so every path that closes up after Ctrl-C closes up after
it too, and the command line exits 143 instead of 130. Outside ``deferred()`` it raises at once,
as Ctrl-C does (``on_sigterm``, installed by the command line); a second SIGTERM raises at once.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

_presses = 0  # Ctrl-Cs and SIGTERMs since the outermost deferred() began
_terms = 0  # of which SIGTERMs
_depth = 0  # nested deferred() blocks


class Terminated(KeyboardInterrupt):
    """A stop asked for by SIGTERM: handled as Ctrl-C is, told apart by the exit code (143)."""


def on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM outside ``deferred()``: raise at once, as Python's default does for Ctrl-C."""
    raise Terminated


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _presses, _terms
    _presses += 1
    _terms += signum == signal.SIGTERM
    if _presses >= 3 or _terms >= 2:
        raise _stop()


def _stop() -> KeyboardInterrupt:
    return Terminated() if _terms else KeyboardInterrupt()


def request(*, terminated: bool = False) -> None:
    """Ask for a stop as Ctrl-C (or SIGTERM) would: a worker told by its parent, say."""
    global _presses, _terms
    _presses = max(_presses, 1)
    _terms = max(_terms, int(terminated))


def requested() -> bool:
    return _presses > 0


def reason() -> str:
    """What asked for the stop, for the failed trial's reason."""
    return "SIGTERM" if _terms else "Ctrl-C"


def check() -> None:
    """Raise KeyboardInterrupt (``Terminated`` after SIGTERM) if a stop was asked for: call
    where the caller can close up."""
    if _presses:
        raise _stop()


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Ctrl-C or SIGTERM within the block is a request that ``check()`` raises. One that came
    after the last check is raised when the outermost block ends. Outside the main thread:
    nothing changes."""
    global _depth, _presses, _terms
    if threading.current_thread() is not threading.main_thread():  # handlers live there
        yield
        return
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        for s, handler in previous.items():  # also undoes Lightning's SIG_IGN after a stop
            if handler is not None:
                signal.signal(s, handler)
        pending = _stop() if _depth == 0 and _presses > 0 else None
        if _depth == 0:
            _presses = _terms = 0
    if pending is not None:
        raise pending


# What Ctrl-C leaves behind, per command; the line goes on with the command that resumes.
LEFT_BEHIND = {
    "search": "the running trial is marked failed, finished trials are kept. Resume with",
    "train": "training stopped; the log holds the epochs it finished. Run it again with",
    "finalize": "models exported before it are complete, the one in training was not written. "
    "Resume with",
}


def resume_line(argv: list[str], by: str, *, redact: Callable[[str], str]) -> str:
    """One line: what the stop left, and the command that resumes, each argument passed
    through `redact` (which hides a storage password)."""
    shown = [_redact_arg(a, redact) for a in argv]
    note = " (the storage password is shown as ***: put it back)" if shown != argv else ""
    left = LEFT_BEHIND.get(argv[0] if argv else "", "stopped. Run it again with")
    return f"interrupted ({by}): {left}: harness {shlex.join(shown)}{note}"


def _redact_arg(arg: str, redact: Callable[[str], str]) -> str:
    flag, sep, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
    hidden = redact(value)  # a URL, or a libpq key=value string
    return f"{flag}{sep}{hidden}" if hidden != value and "***" in hidden else arg
