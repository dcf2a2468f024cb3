"""The one error type the CLI turns into a message and exit code 2 instead of a traceback."""

from __future__ import annotations


class HarnessError(Exception):
    """Bad input or a bad request: the message names what is wrong and where, for the user."""
