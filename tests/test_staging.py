"""A set of files appears together or not at all, also across killed runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.staging import MANIFEST, Staging, pending, recover
from tests.finalize.support import dead_pid


def write_set(stage: Staging, text: str) -> None:
    for relative in ("models/m_final.pth", "predictions/m_val_probs_1.npy", "reports/m.json"):
        stage.path(relative).write_text(text)


def files(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*") if p.is_file()}


def test_commit_moves_the_whole_set_in_and_leaves_no_temp_folder(tmp_path: Path) -> None:
    stage = Staging(tmp_path, "m")
    write_set(stage, "new")
    assert all(name.startswith(".tmp-") for name in files(tmp_path))  # nothing in place yet
    moved = stage.commit()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in moved) == sorted(files(tmp_path))
    assert set(files(tmp_path).values()) == {"new"}
    assert pending(tmp_path) == []


def test_discard_before_commit_leaves_the_old_set_as_it_was(tmp_path: Path) -> None:
    old = Staging(tmp_path, "m")
    write_set(old, "old")
    old.commit()
    new = Staging(tmp_path, "m")
    write_set(new, "new")
    new.discard()
    assert set(files(tmp_path).values()) == {"old"}
    assert pending(tmp_path) == []


def test_recover_removes_the_staging_folder_of_a_dead_process_only(tmp_path: Path) -> None:
    dead = tmp_path / f".tmp-m-{dead_pid()}-abc"
    alive = tmp_path / f".tmp-m-{os.getppid()}-def"  # a running process (pytest's parent)
    for folder in (dead, alive):
        (folder / "models").mkdir(parents=True)
        (folder / "models" / "m_final.pth").write_text("half")
    said: list[str] = []
    recover(tmp_path, say=said.append)
    assert not dead.exists()
    assert alive.exists()  # perhaps a finalize still writing
    assert len(said) == 1 and dead.name in said[0]
    assert pending(tmp_path) == [alive]


def test_recover_completes_a_commit_interrupted_between_renames(tmp_path: Path) -> None:
    stage = Staging(tmp_path, "m")
    write_set(stage, "new")
    committing = tmp_path / f".commit-m-{dead_pid()}-abc"
    names = stage.files()
    (stage.dir / MANIFEST).write_text(json.dumps(names))
    stage.dir.rename(committing)
    # the killed run had moved the first file in already
    (tmp_path / "models").mkdir()
    (committing / names[0]).rename(tmp_path / names[0])
    assert pending(tmp_path) == [committing]

    recover(tmp_path, say=lambda _: None)
    assert sorted(files(tmp_path)) == sorted(names)
    assert set(files(tmp_path).values()) == {"new"}
    assert pending(tmp_path) == []


@pytest.mark.parametrize("model", ["nhits", "tft", "patchtst"])
def test_staging_folders_sit_inside_the_results_folder(tmp_path: Path, model: str) -> None:
    # Same file system as the targets, so moving a file in is a rename, never a copy.
    stage = Staging(tmp_path / "results", model)
    assert stage.dir.parent == tmp_path / "results"
    assert stage.dir.name.startswith(f".tmp-{model}-{os.getpid()}-")
    stage.discard()
