"""The error types the CLI turns into one line and an exit code instead of a traceback."""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path


class HarnessError(Exception):
    """Bad input or a bad request: the message names what is wrong and where (exit code 2)."""


class WorkFailed(HarnessError):
    """The input was fine but the work could not be done, e.g. every trial kept failing (exit
    code 1, as verify-results' problems found)."""


def write_traceback() -> Path:
    """The exception being handled, its traceback written to a file of the cache folder (for
    a bug report): the command line shows one line naming it instead."""
    from harness.constants import cache_dir

    path = cache_dir() / "errors" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(traceback.format_exc())
    return path
