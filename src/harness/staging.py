"""A set of files appears together or not at all: one model's export (docs/contracts.md), the
demo dataset.

A set is written into a temp folder inside the folder it goes to (same file system, so moving a
file in is a rename), then committed:

1. ``.tmp-{name}-{pid}-XXXX/`` receives every file. Any failure before the commit removes it.
2. The commit writes the list of files (``MANIFEST.json``) and renames the folder to
   ``.commit-...``: one atomic rename, the point of no return.
3. Each file is renamed into place (``os.replace``: readers see the old file or the new one,
   never half of one), then the ``.commit-...`` folder is removed.

A process killed in step 1 leaves a ``.tmp-...`` folder and no file in place: the next run
(``recover``) into the same folder deletes it (when the process named in it is gone). A process
killed in step 3, a window of a few renames, leaves a ``.commit-...`` folder: the next run
completes those renames (rolls forward), and until then ``verify_results`` reports it. Two runs
writing into one folder at the same time are not supported: their sets could interleave.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

STAGING_PREFIX = ".tmp-"
COMMIT_PREFIX = ".commit-"
MANIFEST = "MANIFEST.json"


class Staging:
    """A temp folder inside `out` that holds one set (`name`: the model, or "demo") until
    ``commit``."""

    def __init__(self, out: Path, name: str) -> None:
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.dir = Path(
            tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{name}-{os.getpid()}-", dir=self.out)
        )

    def path(self, relative: str) -> Path:
        """Where to write the file that will live at `out/relative`."""
        path = self.dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def files(self) -> list[str]:
        return sorted(
            p.relative_to(self.dir).as_posix()
            for p in self.dir.rglob("*")
            if p.is_file() and p.name != MANIFEST
        )

    def commit(self) -> list[Path]:
        """Move every file into place; returns their final paths."""
        files = self.files()
        (self.dir / MANIFEST).write_text(json.dumps(files))
        committing = self.out / (COMMIT_PREFIX + self.dir.name.removeprefix(STAGING_PREFIX))
        os.rename(self.dir, committing)  # from here on the set rolls forward, never back
        roll_forward(committing, self.out)
        return [self.out / f for f in files]

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)  # gone already after a commit


def roll_forward(committing: Path, out: Path) -> None:
    """Finish a commit: move the files still in `committing` into place, remove it."""
    files = json.loads((committing / MANIFEST).read_text())
    for relative in files:
        source = committing / relative
        if source.exists():  # moved already by the interrupted run
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
    shutil.rmtree(committing)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _writer_pid(name: str) -> int | None:
    parts = name.removeprefix(STAGING_PREFIX).split("-")
    # {name}-{pid}-{random}: the set's name (a model's, "demo") holds no "-", the random part may
    try:
        return int(parts[1])
    except (IndexError, ValueError):
        return None


def recover(out: Path, *, say: Callable[[str], None] = print) -> None:
    """Clean up after killed runs: complete interrupted commits, delete unfinished sets."""
    out = Path(out)
    if not out.is_dir():
        return
    for entry in sorted(out.iterdir()):
        if not entry.is_dir():
            continue
        if entry.name.startswith(COMMIT_PREFIX):
            if (entry / MANIFEST).is_file():
                roll_forward(entry, out)
                say(f"completed a set of files that was stopped while moving into place ({entry}).")
            else:  # cannot happen (the manifest is written before the rename), but be safe
                shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(STAGING_PREFIX):
            pid = _writer_pid(entry.name)
            if pid is None or not _alive(pid):
                shutil.rmtree(entry, ignore_errors=True)
                say(f"removed the unfinished set of files left by a stopped run ({entry.name}).")


def pending(out: Path) -> list[Path]:
    """Unfinished sets in `out` (for ``verify_results``)."""
    out = Path(out)
    if not out.is_dir():
        return []
    return sorted(
        p
        for p in out.iterdir()
        if p.is_dir() and p.name.startswith((STAGING_PREFIX, COMMIT_PREFIX))
    )
