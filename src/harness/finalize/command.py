"""`harness finalize`: every model's best trial retrained and exported, then the comparison."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import torch
from optuna.storages import BaseStorage

from harness.constants import DEFAULT_BLOCKS
from harness.data import Phase1Data
from harness.errors import HarnessError
from harness.finalize.export import ModelExport, WriteError, export_model
from harness.finalize.reference import REFERENCE, export_reference
from harness.modelfile import layout, same_rows, val_index
from harness.staging import recover
from harness.storage import artifacts_dir, open_storage, store_files, study_curves
from harness.training import DivergedError, Recipe


class FinalizeError(HarnessError):
    """Some models could not be exported; the others were. ``report`` says which."""

    def __init__(self, message: str, report: FinalizeReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class FinalizeReport:
    out: Path
    exported: dict[str, ModelExport] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # model -> message
    comparison: Path | None = None


def finalize(
    *,
    recipes: Sequence[Recipe],
    storage: str,
    study_names: Mapping[str, str],
    out: Path = Path("results"),
    seeds: int = 1,
    say: Callable[[str], None] = print,
    artifacts: Path | None = None,
    pbo_blocks: int = DEFAULT_BLOCKS,
    logger: str | None = None,
    trials: Mapping[str, int] | None = None,
) -> FinalizeReport:
    """Retrain each model's best complete trial and export its files (docs/contracts.md).

    `recipes`: one per model, all of one dataset, each as its study ran (objective, space, and
    the caps of a smoke search); `study_names` maps each model to its study in `storage`.
    `seeds` > 1 trains that many members (seeds seed_for(study seed, trial) + 0..K-1) and
    exports their mean probabilities. Validation predictions always cover every validation row.
    `artifacts`: where the trials stored their val predictions (default as the search:
    $HARNESS_ARTIFACTS, else the folder each study recorded, else artifacts/ beside a SQLite
    storage); each model's metrics JSON gives the probability of backtest overfitting over
    them, with `pbo_blocks` blocks. `logger` ("tensorboard" or "csv"): each member logs its
    training curves into that folder too (``storage.study_curves``; without a folder, an error
    before any training). `trials`: model -> the trial to export in place of its study's
    best (a Pareto search's: the chosen member of its front, ``storage.pareto``).

    Each model's set is written whole or not at all; one model's failure (no study, no complete
    trial, another dataset, diverged training) does not stop the others. A study's recorded
    artifact folder that is not there stops finalize before any training (a mount to fix, not
    a model to skip). The comparison report
    is rewritten over every model exported in `out` for this dataset. Raises FinalizeError
    (after exporting the rest) when any model failed; its ``report`` lists both.
    """
    if seeds < 1:
        raise HarnessError(f"--seeds must be >= 1, got {seeds}")
    if pbo_blocks < 2 or pbo_blocks % 2:
        raise HarnessError(f"--pbo-blocks must be even and >= 2, got {pbo_blocks}")
    if not recipes:
        raise HarnessError("finalize needs at least one model")
    data = recipes[0].data
    if any(r.data.fingerprint != data.fingerprint for r in recipes):
        raise HarnessError("finalize exports models of one dataset at a time")
    unknown = [r.model for r in recipes if r.model not in study_names]
    if unknown:
        raise HarnessError(f"no study name given for {', '.join(unknown)}")
    out = Path(out)
    check_out(out, data)
    recover(out, say=say)
    backend = open_storage(storage)
    known = {s.study_name: s for s in backend.get_all_studies()}
    # each study's own folder (the one it recorded), unless --artifacts or $HARNESS_ARTIFACTS
    stored_in = {
        m: artifacts_dir(storage, artifacts, study=known.get(name))
        for m, name in study_names.items()
    }
    curves = {
        r.model: study_curves(logger, stored_in[r.model], study_names[r.model]) for r in recipes
    }

    exported: dict[str, ModelExport] = {}
    errors: dict[str, str] = {}
    made = not out.exists()  # removed again, when this run leaves it empty
    reference: dict[int, np.ndarray] | None = None
    try:
        try:  # first: every model's metrics compare it with the reference
            exported[REFERENCE], reference = export_reference(
                data, out, score=recipes[0].score, say=say
            )
        except WriteError:
            raise
        except HarnessError as exc:
            errors[REFERENCE] = str(exc)
            say(f"{REFERENCE}: not exported: {errors[REFERENCE]}")
        for recipe in {r.model: r for r in recipes}.values():  # each model once, in order given
            model = recipe.model
            try:
                exported[model] = export_model(
                    recipe,
                    storage=backend,
                    storage_url=storage,
                    study_name=study_names[model],
                    out=out,
                    seeds=seeds,
                    say=say,
                    artifacts=stored_in[model],
                    pbo_blocks=pbo_blocks,
                    reference=reference,
                    curves=curves[model],
                    number=(trials or {}).get(model),
                )
            except WriteError:
                raise
            except (HarnessError, DivergedError, torch.OutOfMemoryError) as exc:
                errors[model] = str(exc) if isinstance(exc, HarnessError) else f"{model}: {exc}"
                say(f"{model}: not exported: {errors[model]}")
    finally:
        if made and not exported:
            _remove_empty(out)

    from harness.finalize.comparison import write_comparison

    comparison = write_comparison(
        out,
        data,
        studies={m: (storage, e.study) for m, e in exported.items() if m != REFERENCE},
        say=say,
    )
    deep = {m: e for m, e in exported.items() if m != REFERENCE}
    _store_reports(out, deep, backend, stored_in, say=say)
    report = FinalizeReport(out=out, exported=exported, errors=errors, comparison=comparison)
    if len(errors) == 1 and not any(m != REFERENCE for m in exported):
        raise FinalizeError(next(iter(errors.values())), report)  # one model, one line
    if errors:
        done = ", ".join(exported) or "none"
        raise FinalizeError(
            f"{len(errors)} model(s) not exported (exported: {done}):\n"
            + "\n".join(f"- {msg}" for msg in errors.values()),
            report,
        )
    return report


def _store_reports(
    out: Path,
    exported: Mapping[str, ModelExport],
    storage: BaseStorage,
    directories: Mapping[str, Path | None],
    *,
    say: Callable[[str], None],
) -> None:
    """Each exported model's study with an artifact folder links, on its dashboard page, the
    comparison report and plots and the model's own tearsheets and plots."""
    reports = out / layout.REPORTS_DIR
    shared = sorted(reports.glob("phase2_*"))
    for model, e in exported.items():
        directory = directories[model]
        if directory is None:
            continue
        own = sorted(p for p in reports.glob(f"{model}_*") if p.suffix in (".html", ".png"))
        try:
            store_files(
                optuna.load_study(study_name=e.study, storage=storage), shared + own, directory
            )
        except (OSError, HarnessError) as exc:  # the export stands; the links are extra
            say(f"{model}: reports not stored with study {e.study!r}: {exc}")


def _remove_empty(folder: Path) -> None:
    """Remove `folder` if it holds no file (only empty folders), as if it was never made."""
    if folder.is_dir() and not any(p.is_file() for p in folder.rglob("*")):
        shutil.rmtree(folder, ignore_errors=True)


def check_out(out: Path, data: Phase1Data) -> None:
    """Refuse a results folder that holds another dataset's predictions: they would not align."""
    for parent in (out, *out.parents):
        if parent.exists() and not parent.is_dir():
            raise HarnessError(f"--out {out}: {parent} is a file; give a folder")
    path = out / layout.VAL_INDEX
    if not path.is_file():
        return
    try:
        existing = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types
        raise HarnessError(
            f"{path}: cannot be read ({exc}); remove it or use another --out"
        ) from None
    expected = val_index(data)
    if list(existing.columns) != list(expected.columns) or not same_rows(existing, expected):
        raise HarnessError(
            f"{path}: {out} holds results of another dataset (its validation rows differ from "
            "this data's); use another --out, or empty it first."
        )
