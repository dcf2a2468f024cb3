"""The exported model file: weights_only, self-describing, rebuilt into the same predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from harness.config import RunConfig
from harness.data import PreparedData, load_phase1, prepare
from harness.modelfile import CheckpointError, EnsembleNet, load_model, split_probs
from harness.modelfile.checkpoint import save_checkpoint
from harness.models import MODELS
from tests.conftest import TINY  # the real Configs, shrunk


def prepared(root: Path, seq_len: int) -> PreparedData:
    return prepare(load_phase1(root), seq_len=seq_len)


def build(model: str, data: PreparedData, seed: int) -> tuple[RunConfig, torch.nn.Module]:
    run = RunConfig.from_flat({"model": model, **TINY[model]})
    torch.manual_seed(seed)
    return run, MODELS[model].build(run.net, data.spec).eval()


@pytest.mark.parametrize("model", sorted(MODELS))
def test_a_saved_model_reloads_with_weights_only_and_predicts_the_same(
    model: str, tiny_dataset: Path, tmp_path: Path
) -> None:
    data = prepared(tiny_dataset, TINY[model]["seq_len"])
    run, net = build(model, data, seed=0)
    path = tmp_path / f"{model}_final.pth"
    save_checkpoint(path, net, run=run, seeds=[7], data=data, study="s", trial=3)

    raw = torch.load(path, weights_only=True)
    assert raw["config"] == run.to_flat()
    assert raw["feature_names"] == list(data.spec.feature_names)
    assert raw["classes"] == [-1, 0, 1]
    np.testing.assert_allclose(raw["scaler_mean"].numpy(), data.scaler.mean_)
    np.testing.assert_allclose(raw["scaler_std"].numpy(), data.scaler.scale_)

    loaded, meta = load_model(path)
    assert not isinstance(loaded, EnsembleNet)
    assert (meta.model, meta.seeds, meta.study, meta.trial) == (model, (7,), "s", 3)
    assert meta.seq_len == data.seq_len and meta.window_end == data.window_end
    _, expected = split_probs(net, data, "val")
    _, got = split_probs(loaded, data, "val")
    for h in data.spec.horizons:
        np.testing.assert_array_equal(got[h], expected[h])


def test_an_ensemble_reloads_and_predicts_the_mean_of_its_members(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    data = prepared(tiny_dataset, TINY["patchtst"]["seq_len"])
    nets = [build("patchtst", data, seed=s)[1] for s in (1, 2)]
    run = build("patchtst", data, seed=0)[0]
    path = tmp_path / "patchtst_final.pth"
    save_checkpoint(path, EnsembleNet(nets), run=run, seeds=[1, 2], data=data, study="s", trial=0)

    raw = torch.load(path, weights_only=True)
    assert len(raw["extra_state_dicts"]) == 1  # state_dict holds the first member
    loaded, meta = load_model(path)
    assert isinstance(loaded, EnsembleNet) and meta.seeds == (1, 2)
    _, got = split_probs(loaded, data, "val")
    members = [split_probs(n, data, "val")[1] for n in nets]
    for h in data.spec.horizons:
        np.testing.assert_allclose(got[h], (members[0][h] + members[1][h]) / 2, atol=1e-6)
        np.testing.assert_allclose(got[h].sum(axis=1), 1.0, atol=1e-6)


def test_each_value_is_stored_once_and_a_file_of_the_previous_format_still_loads(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    data = prepared(tiny_dataset, TINY["nhits"]["seq_len"])
    run, net = build("nhits", data, seed=0)
    path = tmp_path / "nhits_final.pth"
    save_checkpoint(path, net, run=run, seeds=[0], data=data, study="s", trial=0)
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "harness-final-v6"
    assert "seq_len" not in raw and "window_end" not in raw  # the config holds the window

    # The previous format, as version 0.2 wrote it: the window again at the top level.
    old = {**raw, "format": "harness-final-v5", "seq_len": run.seq_len, "window_end": "inclusive"}
    torch.save(old, tmp_path / "old_final.pth")
    loaded, meta = load_model(tmp_path / "old_final.pth")
    assert (meta.seq_len, meta.window_end) == (run.seq_len, "inclusive")
    _, expected = split_probs(net, data, "val")
    _, got = split_probs(loaded, data, "val")
    for h in data.spec.horizons:
        np.testing.assert_array_equal(got[h], expected[h])


class Pickled:
    pass


@pytest.mark.parametrize(
    "content",
    [b"not a model file", {"format": "harness-final-v1", "object": Pickled()}, {"x": 1}],
    ids=["garbage", "pickled-object", "foreign-dict"],
)
def test_a_file_that_is_not_a_model_gives_a_clear_error(tmp_path: Path, content: object) -> None:
    path = tmp_path / "m_final.pth"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(CheckpointError, match=str(path)):
        load_model(path)
