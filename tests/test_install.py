"""The package as a user gets it: a real wheel in a fresh venv, run from an empty folder.

An editable install (tests, .ci/install) reads the YAML files from the checkout; a wheel must
carry them inside the package (harness/_yaml/), which only an installed wheel shows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# What the build reads: pyproject.toml names README.md, and maps the YAML folders into the package.
BUILD_INPUTS = ("pyproject.toml", "README.md", "src", "search_spaces", "objectives")
YAML_FOLDERS = ("search_spaces", "objectives")


def test_wheel_lists_every_package() -> None:
    """pyproject.toml lists the packages (it maps the YAML folders in): none under src/ missing."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(init.parent.relative_to(REPO / "src").parts)
        for init in (REPO / "src" / "harness").rglob("__init__.py")
    }
    yaml = {f"harness._yaml.{folder}" for folder in YAML_FOLDERS}
    assert set(setuptools["packages"]) == found | yaml
    for folder in YAML_FOLDERS:
        assert setuptools["package-dir"][f"harness._yaml.{folder}"] == folder
        assert setuptools["package-data"][f"harness._yaml.{folder}"] == ["*.yaml"]
        assert any((REPO / folder).glob("*.yaml"))


def _run(
    args: list[str | Path], *, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, (
        f"{' '.join(proc.args)} exited {proc.returncode}\n"
        f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
    )
    return proc


def _outer_paths() -> list[str]:
    """This interpreter's import folders (the dependencies), less the checkout's own."""
    own = (REPO / "src", REPO / "tests")
    scripts = Path(sys.executable).parent.resolve()  # sys.path[0] under .venv/bin/pytest
    paths = []
    for entry in sys.path:
        path = Path(entry or ".").resolve()
        if path in (REPO, scripts) or any(path.is_relative_to(p) for p in own):
            continue
        if not path.is_dir():
            continue
        paths.append(str(path))
    return list(dict.fromkeys(paths))


@pytest.mark.slow
def test_wheel_installs_and_runs(tmp_path: Path) -> None:
    try:
        import venv  # noqa: F401  (Debian's python3 without python3-venv lacks it)
    except ImportError:
        pytest.skip("the venv module is unavailable to this Python")

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("HARNESS_")
    }
    env |= {
        "HARNESS_CACHE": str(tmp_path / "cache"),  # the demo dataset is generated here
        "MPLCONFIGDIR": str(tmp_path / "mpl"),
        "PYTHONNOUSERSITE": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "PIP_ROOT_USER_ACTION": "ignore",
        "OMP_NUM_THREADS": "1",  # tiny models: threads only cost start-up (as in conftest)
    }

    # Build from a copy: an in-tree build leaves build/ and *.egg-info in the checkout, and a
    # stale build/lib would slip removed modules into the wheel.
    project = tmp_path / "project"
    project.mkdir()
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
            shutil.copytree(REPO / name, project / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, project / name)
    wheels = tmp_path / "wheels"
    # No build isolation and no index: this environment's setuptools builds it, offline.
    pip = [sys.executable, "-m", "pip"]
    _run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", wheels, project],
        cwd=tmp_path,
        env=env,
    )
    (wheel,) = wheels.glob("harness-*.whl")

    # A bare venv, the wheel installed by this pip (--python: into that venv, with its shebangs),
    # and only then a .pth onto this interpreter's folders for the dependencies: pip sees an
    # empty venv, and the venv sees no src/ of the checkout.
    venv_dir = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv_dir], cwd=tmp_path, env=env)
    python, harness = venv_dir / "bin" / "python", venv_dir / "bin" / "harness"
    _run(
        [*pip, "--python", python, "install", "--no-deps", "--no-index", wheel],
        cwd=tmp_path,
        env=env,
    )
    purelib = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        cwd=tmp_path,
        env=env,
    ).stdout.strip()
    Path(purelib, "outer-site.pth").write_text("\n".join(_outer_paths()) + "\n")

    empty = tmp_path / "empty"
    empty.mkdir()
    found = _run(
        [
            python,
            "-c",
            "import harness, harness.config.files as f; print(harness.__file__); "
            "[print(f.project_file(d, 'nhits')) for d in ('search_spaces', 'objectives')]",
        ],
        cwd=empty,
        env=env,
    ).stdout.splitlines()
    # the module and both YAML files from the venv, the YAML from the package's own copy
    assert len(found) == 3, found
    venv_root = venv_dir.resolve()
    for path in map(Path, found):
        assert path.resolve().is_relative_to(venv_root), found
        assert not path.resolve().is_relative_to(REPO), found
        assert path.is_file(), found
    assert [Path(p).parts[-3:-1] for p in found[1:]] == [("_yaml", d) for d in YAML_FOLDERS]

    assert "search" in _run([harness, "--help"], cwd=empty, env=env).stdout
    storage = f"sqlite:///{tmp_path / 's.db'}"
    smoke = ["--model", "nhits", "--epochs", "1", "--max-batches", "2", "--storage", storage]
    _run([harness, "search", "--trials", "1", *smoke], cwd=empty, env=env)
    _run([harness, "finalize", *smoke, "--out", tmp_path / "results"], cwd=empty, env=env)
    assert (tmp_path / "results" / "models" / "nhits_final.pth").is_file()
