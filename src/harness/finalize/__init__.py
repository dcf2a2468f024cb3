"""Finalize: retrain each model's best trial, export what Phase 3 reads, compare the models.

- ``finalize``: best complete trial per study -> retrain (K seeds) -> the files of DESIGN.md
  section 6, each model's set written whole or not at all; then the comparison report.
- ``load_model``: rebuild an exported model (or K-seed ensemble) from its ``.pth``.
- ``verify_results``: check a results folder as Phase 3 would; one line per problem.
- ``write_comparison``: ``reports/phase2_model_comparison.md`` and its plots.
"""

from __future__ import annotations

from harness.finalize.checkpoint import CheckpointError, EnsembleNet, ModelMeta, load_model
from harness.finalize.comparison import write_comparison
from harness.finalize.export import ExportError, ModelExport, same_rows
from harness.finalize.run import FinalizeError, FinalizeReport, check_out, finalize
from harness.finalize.verify import verify_results

__all__ = [
    "CheckpointError",
    "EnsembleNet",
    "ExportError",
    "FinalizeError",
    "FinalizeReport",
    "ModelExport",
    "ModelMeta",
    "check_out",
    "finalize",
    "load_model",
    "same_rows",
    "verify_results",
    "write_comparison",
]
