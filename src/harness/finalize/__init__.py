"""Finalize: retrain each model's best trial, export what Phase 3 reads, compare the models.

- ``finalize``: best complete trial per study -> retrain (K seeds) -> the files of the output
  contract, each model's set written whole or not at all; then the comparison report.
- ``verify_results``: check a results folder as Phase 3 would; one line per problem.
- ``write_comparison``: ``reports/phase2_model_comparison.md`` and its plots.
"""

from __future__ import annotations

from harness.finalize.command import FinalizeError, FinalizeReport, check_out, finalize
from harness.finalize.comparison import write_comparison
from harness.finalize.export import ExportError, ModelExport
from harness.finalize.verify import verify_results

__all__ = [
    "ExportError",
    "FinalizeError",
    "FinalizeReport",
    "ModelExport",
    "check_out",
    "finalize",
    "verify_results",
    "write_comparison",
]
