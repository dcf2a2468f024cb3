"""``models/{model}_manifest.json``: the size and SHA-256 of every file of a model's set."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.constants import FORMAT_VERSION
from harness.errors import HarnessError
from harness.modelfile import layout

AGAIN = "run `harness finalize` again for this model (or restore the files it wrote)"


class ManifestError(HarnessError):
    """A file of a model's set is not what finalize wrote: no manifest, not listed, changed."""


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


def check_files(results: Path | str, model: str, relative_paths: Iterable[str]) -> None:
    """Each of `relative_paths` (under `results`) has the size and SHA-256 that
    ``models/{model}_manifest.json`` records for it; else ManifestError, one line that names
    each file and what differs. The size is compared first: a file of another size is not read.
    """
    results = Path(results)
    path = layout.resolve(results, layout.manifest(model))
    try:
        records = json.loads(path.read_text())["files"]
        if not isinstance(records, dict):
            raise TypeError(f"files is a {type(records).__name__}, not a mapping")
    except FileNotFoundError:
        raise ManifestError(
            f"{path}: missing, so {model}'s files cannot be checked against the sizes and "
            f"SHA-256 finalize recorded; {AGAIN}"
        ) from None
    except (OSError, ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise ManifestError(
            f"{path}: not a manifest ({type(exc).__name__}: {exc}); {AGAIN}"
        ) from None
    problems = []
    for relative in dict.fromkeys(relative_paths):
        target = layout.resolve(results, relative)
        record = records.get(relative)
        if not isinstance(record, dict):
            problems.append(f"{target}: not listed in {path}")
        elif not target.is_file():
            problems.append(f"{target}: missing (listed in {path.name})")
        elif (size := target.stat().st_size) != record.get("size"):
            problems.append(
                f"{target}: size differs from {path.name} ({size:,} bytes, recorded "
                f"{_number(record.get('size'))}): changed since finalize wrote it"
            )
        elif (sha256 := file_record(target)["sha256"]) != record.get("sha256"):
            problems.append(
                f"{target}: SHA-256 differs from {path.name} (same size; {sha256[:12]}..., "
                f"recorded {str(record.get('sha256'))[:12]}...): changed since finalize wrote it"
            )
    if problems:
        raise ManifestError(f"{'; '.join(problems)}; {AGAIN}")


def _number(size: object) -> str:
    return f"{size:,} bytes" if isinstance(size, int) else repr(size)
