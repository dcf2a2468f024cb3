"""benchmarks/gpu_check.py where no GPU is seen: one JSON line saying so, exit 0, in seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def test_gpu_check_without_a_gpu_says_so_in_one_json_line(tmp_path: Path) -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # no GPU, whatever this machine has
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path / "figures.jsonl")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - start < 60
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    figure = json.loads(lines[0])
    assert figure["check"] == "gpu" and figure["available"] is False
    assert (tmp_path / "figures.jsonl").read_text().splitlines() == lines
