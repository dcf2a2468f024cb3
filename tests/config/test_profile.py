"""Profiles: the device picks one, --profile overrides it, a study records it and is named after
it; one worker per GPU. No GPU is needed: the device and the GPU list are arguments."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import torch

from harness.config import SpaceError, choose_profile, recorded_choice
from harness.data import load_phase1
from harness.search.workers import expected_attrs, placement, visible_gpus
from harness.storage import (
    StudyMismatch,
    StudyNotFound,
    default_study_name,
    find_study,
    recorded_profile,
)
from harness.storage.study import check_study
from harness.training import Recipe
from tests.test_cli import TINY_OBJECTIVE, TINY_SPACE

CUDA, CPU = torch.device("cuda"), torch.device("cpu")
SPACE = """model: nhits
fixed: {seq_len: 16, pooling: fine, mlp_units: 64, latent_size: 4, latent_channels: 2,
        head_hidden: 8, batch_size: 8}
profiles:
  cpu: {fixed: {mlp_units: 16}}
  tiny: {fixed: {mlp_units: 8}}
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    space, objective = tmp_path / "space.yaml", tmp_path / "objective.yaml"
    space.write_text(SPACE)
    objective.write_text(
        TINY_OBJECTIVE + "profiles:\n  cpu: {budget: {max_epochs: 1, batches_per_epoch: 2}}\n"
    )
    return space, objective


def recipe(root: Path, files: tuple[Path, Path], profile: str) -> Recipe:
    space, objective = files
    return Recipe.load(
        "nhits", load_phase1(root), profile=profile, space_file=space, objective_file=objective
    )


# --- the choice ---------------------------------------------------------------------------------


def test_the_device_picks_the_profile() -> None:
    assert choose_profile(None, CUDA).name == "seed"
    assert choose_profile(None, CPU).name == "cpu"


def test_the_reason_says_why_and_how_to_change_it() -> None:
    line = choose_profile(None, CPU).line
    assert line.startswith("profile cpu: the default when training on the CPU")
    assert "--profile seed" in line
    assert "--profile cpu" in choose_profile(None, CUDA).line


def test_profile_overrides_the_device() -> None:
    choice = choose_profile("seed", CPU)
    assert choice.name == "seed"
    assert "chosen with --profile" in choice.line


def test_finalize_says_the_profile_its_studies_recorded() -> None:
    fallback = choose_profile(None, CUDA)
    one = recorded_choice({"nhits": ("nhits-cpu-x", "cpu"), "tft": ("tft-cpu-x", "cpu")}, fallback)
    assert one.name == "cpu" and "'nhits-cpu-x', 'tft-cpu-x'" in one.reason
    mixed = recorded_choice({"nhits": ("a", "cpu"), "tft": ("b", "seed")}, fallback)
    assert "nhits cpu ('a')" in mixed.reason and "tft seed ('b')" in mixed.reason
    none = recorded_choice({"nhits": ("a", None)}, fallback)
    assert none.name == "seed" and "no study has recorded one" in none.reason


# --- the recipe ---------------------------------------------------------------------------------


def test_each_profile_sizes_the_space_and_the_budget(
    tiny_dataset: Path, files: tuple[Path, Path]
) -> None:
    seed, cpu = recipe(tiny_dataset, files, "seed"), recipe(tiny_dataset, files, "cpu")
    assert (seed.default_run().net.mlp_units, cpu.default_run().net.mlp_units) == (64, 16)
    assert (seed.budget.max_epochs, cpu.budget.max_epochs) == (2, 1)
    tiny = recipe(tiny_dataset, files, "tiny")  # a profile of the space alone: seed's budget
    assert (tiny.default_run().net.mlp_units, tiny.budget) == (8, seed.budget)


def test_a_file_without_a_cpu_section_trains_its_top_level_on_cpu(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    space, objective = tmp_path / "s.yaml", tmp_path / "o.yaml"
    space.write_text(TINY_SPACE)
    objective.write_text(TINY_OBJECTIVE)
    cpu, seed = (recipe(tiny_dataset, (space, objective), p) for p in ("cpu", "seed"))
    assert cpu.default_run() == seed.default_run() and cpu.budget == seed.budget


def test_an_unknown_profile_names_the_known_ones_and_the_files(
    tiny_dataset: Path, files: tuple[Path, Path]
) -> None:
    with pytest.raises(SpaceError) as info:
        recipe(tiny_dataset, files, "gpu_big")
    message = str(info.value)
    assert "unknown profile 'gpu_big'" in message
    assert "seed, cpu, tiny" in message
    assert str(files[0]) in message and str(files[1]) in message


# --- the study ----------------------------------------------------------------------------------


def test_the_profile_is_part_of_the_default_study_name(tiny_dataset: Path) -> None:
    data = load_phase1(tiny_dataset)
    names = {default_study_name("nhits", data, p) for p in ("seed", "cpu")}
    assert names == {f"nhits-{p}-{data.fingerprint[:8]}" for p in ("seed", "cpu")}


def test_a_study_records_its_profile_and_refuses_another(
    tiny_dataset: Path, files: tuple[Path, Path]
) -> None:
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(study_name="s", storage=storage)
    check_study(study, expected_attrs(recipe(tiny_dataset, files, "cpu")))
    assert study.user_attrs["profile"] == "cpu"
    assert recorded_profile(storage, "s") == "cpu"
    assert recorded_profile(storage, "nope") is None
    with pytest.raises(StudyMismatch, match="another profile, objective"):
        check_study(study, expected_attrs(recipe(tiny_dataset, files, "seed")))


def test_finalize_finds_the_study_of_any_profile(tiny_dataset: Path) -> None:
    data = load_phase1(tiny_dataset)
    storage = optuna.storages.InMemoryStorage()

    def make(profile: str) -> str:
        name = default_study_name("nhits", data, profile)
        study = optuna.create_study(study_name=name, storage=storage)
        study.set_user_attr("profile", profile)
        return name

    assert find_study(storage, "nhits", data, default="fallback") == "fallback"
    seed = make("seed")
    optuna.create_study(study_name=f"tft-seed-{data.fingerprint[:8]}", storage=storage)
    assert find_study(storage, "nhits", data, default="fallback") == seed
    make("cpu")
    with pytest.raises(StudyNotFound, match="a study per profile") as info:
        find_study(storage, "nhits", data, default="fallback")
    assert "--study NAME" in str(info.value)


# --- one worker per GPU -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("worker", "gpus", "visible"),
    [(0, 4, "0"), (1, 4, "1"), (3, 4, "3"), (4, 4, "0"), (5, 2, "1"), (2, 1, "0")],
)
def test_worker_k_sees_gpu_k_mod_g_alone(worker: int, gpus: int, visible: str) -> None:
    where = placement(worker, visible_gpus(gpus, {}))
    assert where.env == {"CUDA_VISIBLE_DEVICES": visible}
    assert where.device == "cuda:0"  # its one visible GPU


def test_workers_on_a_cpu_get_no_gpu() -> None:
    where = placement(3, visible_gpus(0, {}))
    assert (where.device, where.env) == ("cpu", {})


def test_workers_share_the_gpus_this_process_was_given() -> None:
    gpus = visible_gpus(2, {"CUDA_VISIBLE_DEVICES": "2, 3"})
    assert [placement(k, gpus).env["CUDA_VISIBLE_DEVICES"] for k in range(3)] == ["2", "3", "2"]
    assert visible_gpus(0, {"CUDA_VISIBLE_DEVICES": ""}) == []
