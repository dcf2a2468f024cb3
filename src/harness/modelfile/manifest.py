"""``models/{model}_manifest.json``: the size and SHA-256 of every file of a model's set."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from harness.version import FORMAT_VERSION


def manifest(model: str, files: dict[str, Path]) -> dict[str, Any]:
    """models/{model}_manifest.json: size and SHA-256 of each of `files` (relative -> path)."""
    return {
        "format_version": FORMAT_VERSION,
        "model": model,
        "files": {relative: file_record(path) for relative, path in sorted(files.items())},
    }


def file_record(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"size": Path(path).stat().st_size, "sha256": digest.hexdigest()}
