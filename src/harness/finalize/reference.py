"""The reference, exported like a model under the name ``reference``: the bar every deep model's
val numbers are read against (``harness.reference``: logistic regression and boosted trees on the
row's features and its symbol's previous rows, chosen on val by the study's score).

Its set: ``models/reference_model.json`` (JSON, never a pickle), the val probabilities per
horizon over every val row in the split file's order, the shared val index, its metrics (the
vectorbt backtest and classification numbers of the deep models' metrics.json, both families'
grids) and its manifest, written whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from harness.config import ScoreConfig
from harness.constants import FORMAT_VERSION
from harness.data import Phase1Data, prepare
from harness.finalize.export import ExportError, ModelExport, writing_into
from harness.finalize.report import score_split
from harness.modelfile import layout, manifest, val_index
from harness.serialize import dump_json
from harness.staging import Staging

REFERENCE = layout.REFERENCE


def export_reference(
    data: Phase1Data, out: Path, *, score: ScoreConfig, say: Callable[[str], None]
) -> tuple[ModelExport, dict[int, np.ndarray]]:
    """Fit the reference on `data`, write its set into `out`; the export and its val
    probabilities per horizon (float32 [N_val, 3], the rows of ``data.val`` in order)."""
    from harness.reference import fit_references, save_reference

    say(f"{REFERENCE}: fitting logistic regressions and boosted trees on the train rows")
    found = fit_references(data, score=score, say=lambda line: say(f"{REFERENCE}: {line}"))
    ref = found.reference
    probs = ref.predict_proba(data, data.val)
    lacking = int((~np.isfinite(probs[data.horizons[0]]).all(axis=1)).sum())
    if lacking:
        raise ExportError(
            f"{REFERENCE}: {lacking} val rows lack {ref.lags} rows of history in their symbol; "
            "every val row needs a prediction (Phase 3 stacks the models row by row)"
        )
    prepared = prepare(data, seq_len=1)  # the rows, labels and calendar; no window needed
    val = score_split(
        data.val, probs, prepared, bars_per_year=prepared.bars_per_year, cost_bps=score.cost_bps
    )
    summary: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "model": REFERENCE,
        "family": found.best,
        "params": dict(ref.params),
        "lags": found.lags,
        "class_weights": found.class_weights,
        "score": score.model_dump(mode="json"),
        "score_rule": found.score_rule,
        "data_fingerprint": data.fingerprint,
        "rows": {"train": found.n_train, "val": found.n_val, "dropped": dict(found.dropped)},
        "families": {
            name: {
                "params": dict(fam.params),
                "val_score": fam.score,
                "grid": [{"params": dict(p.params), "val_score": p.score} for p in fam.grid],
                "seconds": fam.seconds,
            }
            for name, fam in found.families.items()
        },
        "horizons": {str(h): {"val": val.metrics[h]} for h in data.horizons},
        "note": "chosen on val by the study's score, as the deep models' trials and epochs are: "
        "its val numbers are optimistic in the same way",
    }
    stage = Staging(out, REFERENCE)
    try:
        with writing_into(REFERENCE, out):
            save_reference(stage.path(layout.model_file(REFERENCE)), ref)
            for h in data.horizons:
                np.save(stage.path(layout.val_probs(REFERENCE, h)), probs[h].astype(np.float32))
            val_index(data).to_parquet(stage.path(layout.VAL_INDEX), index=False)
            stage.path(layout.metrics(REFERENCE)).write_text(dump_json(summary))
            files = layout.model_files(REFERENCE, data.horizons, interpretable=False)
            stage.path(layout.manifest(REFERENCE)).write_text(
                dump_json(manifest(REFERENCE, {f: stage.path(f) for f in files}))
            )
            written = stage.commit()
    finally:
        stage.discard()
    say(
        f"{REFERENCE}: exported the {found.best} models ({len(written)} files to {out}); val "
        f"score {found.families[found.best].score:.4f}"
    )
    export = ModelExport(
        model=REFERENCE, study="", trial=-1, seeds=(), files=tuple(written), summary=summary
    )
    return export, probs
