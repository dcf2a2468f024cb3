"""optuna-dashboard, opened in a real browser on a study `harness search` made: the numbers, the
metric's name, the notes and the artifacts a person looks for are on the rendered pages."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path
from typing import Any

import optuna
import pytest

from harness.cli import main
from tests.conftest import tiny_frames, tiny_splits, write_dataset
from tests.test_cli import search_args, tiny_project
from tests.test_dashboard import dashboard

SCREENSHOTS = "HARNESS_SCREENSHOTS"  # a folder to keep the pages' screenshots in


def rendered(browser: Any, url: str, *texts: str) -> str:
    """The text of the page at `url` once every one of `texts` shows (the pages draw in JS)."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    body = ""

    def shown(driver: Any) -> bool:
        nonlocal body
        body = driver.find_element("tag name", "body").text
        return all(t in body for t in texts)

    try:
        WebDriverWait(browser, 30, poll_frequency=0.5).until(shown)
    except Exception:
        missing = [t for t in texts if t not in body]
        raise AssertionError(f"{url}: never showed {missing}; it showed:\n{body}") from None
    return body


def shoot(browser: Any, name: str) -> None:
    """A screenshot of the page, where $HARNESS_SCREENSHOTS names a folder (to look at)."""
    if folder := os.environ.get(SCREENSHOTS):
        browser.save_screenshot(str(Path(folder) / name))


@pytest.fixture
def study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, optuna.Study]:
    """A two-trial nhits study of horizons 1, 5 and 20, with its artifacts beside the file."""
    frames = tiny_frames()
    for k, frame in enumerate(frames.values()):  # a 20-bar horizon, as Phase 1 data has
        frame["label_20"] = frame["label_5"].to_numpy()[::-1].copy()
        frame["sample_weight_20"] = 1.0 + k
    data = write_dataset(tmp_path / "data", frames, tiny_splits())
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    tiny_project(cwd)
    storage = f"sqlite:///{tmp_path / 'studies' / 'h.db'}"
    assert main(search_args(storage, data=data, study="s", trials=2)) == 0
    return storage, optuna.load_study(study_name="s", storage=storage)


@pytest.mark.slow
def test_the_dashboard_shows_every_horizon_the_score_notes_and_artifacts(
    browser: Any, study: tuple[str, optuna.Study], tmp_path: Path
) -> None:
    storage, s = study
    best = s.best_trial
    with dashboard(storage, tmp_path / "dashboard.log") as (_, url):
        home = f"{url}/dashboard/studies/{s._study_id}"
        page = rendered(
            browser, home, f"Best Trial (number={best.number})", "Study User Attributes"
        )
        assert "\nscore\n" in page  # the metric's name, on its plots
        shoot(browser, "dashboard_study.png")
        rendered(browser, f"{home}/note", f"Best trial: {best.number}")
        shoot(browser, "dashboard_study_note.png")
        trial_url = f"{url}/dashboard/studies/{s._study_id}/trials?numbers={best.number}"
        value = best.user_attrs["val_macro_f1_h20"]
        page = rendered(browser, trial_url, "val_macro_f1_h20", "epoch_log.json")
        assert f"\nval_macro_f1_h20 {value}\n" in page  # key and value, one row of a table
        table = f"{value:.4f}"  # the trial's note: a table, one row per horizon
        assert any(line.startswith(f"20 {table} ") for line in page.splitlines())
        assert "val macro-F1" in page
        links = [
            a.get_attribute("href")
            for a in browser.find_elements("css selector", "a[href*='/artifacts/']")
        ]
        assert links, "no artifact link on the trial page"
        with urllib.request.urlopen(links[0], timeout=10) as r:
            assert r.status == 200 and len(r.read()) > 0
        shoot(browser, "dashboard_trial.png")
