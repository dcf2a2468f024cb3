"""The Phase 2 criteria and the Optuna plots of the comparison report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest

from harness.finalize.comparison import criteria, write_optuna_plots
from harness.storage import open_storage


def summary(f1: list[float], sharpe: list[float], gap: list[float | None]) -> dict[str, Any]:
    return {
        "horizons": {
            str(h): {"val": {"macro_f1": f, "sharpe": s}, "train_val_gap": g}
            for h, f, s, g in zip((1, 5, 20), f1, sharpe, gap, strict=True)
        }
    }


def test_criteria_pass_on_some_horizon_for_f1_and_sharpe_and_on_every_horizon_for_the_gap():
    checks = criteria(summary([0.30, 0.36, 0.2], [0.1, -1.0, 0.31], [0.1, 0.19, 0.0]), (1, 5, 20))
    assert [ok for ok, _ in checks] == [True, True, True]
    assert "5-bar" in checks[0][1] and "20-bar" in checks[1][1]


@pytest.mark.parametrize(
    ("values", "failed"),
    [
        (([0.35, 0.2, 0.1], [1.0] * 3, [0.0] * 3), 0),  # F1 must exceed 0.35
        (([0.5] * 3, [0.3, 0.0, -2.0], [0.0] * 3), 1),  # Sharpe must exceed 0.3
        (([0.5] * 3, [1.0] * 3, [0.0, 0.2, 0.0]), 2),  # the gap must stay below 20% everywhere
        (([0.5] * 3, [1.0] * 3, [0.0, None, 0.0]), 2),  # an unknown gap is not a pass
    ],
)
def test_criteria_fail_honestly(values: tuple[list, list, list], failed: int) -> None:
    checks = criteria(summary(*values), (1, 5, 20))
    assert [ok for ok, _ in checks] == [k != failed for k in range(3)]


def test_optuna_plots_without_enough_trials_for_importances_say_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(
        study_name="one", storage=open_storage(url, create=True), direction="maximize"
    )
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)

    note = write_optuna_plots(tmp_path, "nhits", url, "one")

    assert "importances" in note
    assert (tmp_path / "nhits_optuna_history.png").is_file()
    assert not (tmp_path / "nhits_optuna_importances.png").exists()
    assert "plotly" in (tmp_path / "nhits_optuna.html").read_text()
