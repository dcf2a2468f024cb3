"""Shared by the metric tests: vectorbt, imported once per session (~10 s)."""

from __future__ import annotations

from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def vbt() -> ModuleType:
    import vectorbt

    return vectorbt
