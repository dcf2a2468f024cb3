"""The space and objective a study ran with, recorded on the study itself.

A search records the text of both files when it creates its study: as system attributes (the
dashboard does not show those, and cuts what it shows at 1,024 characters), with each file's
source and SHA-256 digest as user attributes it does show. finalize and overfit rebuild the pair
from there, so a study searched with ``--objective custom.yaml`` is retrained with that budget
and scored with that score, whatever today's default files say.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from optuna.storages import BaseStorage

from harness.config import ModelFiles, YamlText, files_from_text, load_files
from harness.errors import HarnessError

_TEXT = {"space": "harness:space_yaml", "objective": "harness:objective_yaml"}


def record_files(storage: BaseStorage, study_name: str, files: ModelFiles) -> None:
    """Record `files` on the study, unless it already holds a pair (a resumed search)."""
    study_id = storage.get_study_id_from_name(study_name)
    if _TEXT["space"] in storage.get_study_system_attrs(study_id):
        return
    for kind, text in (("space", files.space_text), ("objective", files.objective_text)):
        storage.set_study_system_attr(study_id, _TEXT[kind], text.text)
        storage.set_study_user_attr(study_id, f"{kind}_file", text.source)
        storage.set_study_user_attr(study_id, f"{kind}_digest", text.digest)


def recorded_files(storage: BaseStorage, study_name: str, model: str) -> ModelFiles | None:
    """The pair the study recorded, or None for a study made before studies recorded theirs."""
    study_id = storage.get_study_id_from_name(study_name)
    attrs = storage.get_study_system_attrs(study_id)
    if _TEXT["space"] not in attrs or _TEXT["objective"] not in attrs:
        return None
    source = f"the {{}} recorded by study {study_name!r}"
    return files_from_text(
        model,
        YamlText(source.format("search space"), str(attrs[_TEXT["space"]])),
        YamlText(source.format("objective"), str(attrs[_TEXT["objective"]])),
    )


def study_files(
    storage: BaseStorage,
    study_name: str,
    model: str,
    *,
    space_file: Path | None = None,
    objective_file: Path | None = None,
    say: Callable[[str], None] = print,
) -> ModelFiles:
    """What to retrain a study's trials with: the pair it recorded. A file given that differs
    from the recorded one is refused, naming both digests; a study that recorded none (made by
    an older harness) falls back to the files given or the project's, and `say` tells so."""
    recorded = recorded_files(storage, study_name, model)
    if recorded is None:
        files = load_files(model, space_file, objective_file)
        say(
            f"note: study {study_name!r} recorded no search space or objective (made by an older "
            f"harness): retraining with {files.space_text.source} and "
            f"{files.objective_text.source}"
        )
        return files
    if space_file or objective_file:
        given = load_files(model, space_file, objective_file)
        for flag, path, mine, theirs in (
            ("--space", space_file, given.space_text, recorded.space_text),
            ("--objective", objective_file, given.objective_text, recorded.objective_text),
        ):
            if path is not None and mine.digest != theirs.digest:
                kind = flag.removeprefix("--")
                raise HarnessError(
                    f"{flag} {path} (digest {mine.digest}) is not the {kind} study "
                    f"{study_name!r} searched with (digest {theirs.digest}); leave {flag} out to "
                    "retrain with the recorded one"
                )
    return recorded
