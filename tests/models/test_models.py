"""One contract for every model in MODELS, then each model's own promises."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmarks.models import forward_per_channel
from harness.config import RunConfig
from harness.config.space import load_space
from harness.data.spec import N_CLASSES, DataSpec, logits_key
from harness.models import MODELS, SymbolScaler, model_config
from harness.models.nhits import POOLING_PRESETS
from tests.conftest import TINY

SEARCH_SPACES = Path(__file__).parents[2] / "search_spaces"
SPEC = DataSpec(
    feature_names=tuple(f"feature_{i}" for i in range(5)),
    horizons=(1, 5, 20),
    symbols=("MES", "MGC"),
)
BATCH = 8
NAMES = sorted(MODELS)


def small_model(name: str, *, seed: int = 0, **overrides: Any) -> tuple[Any, nn.Module]:
    config = model_config(name, {**TINY[name], **overrides})
    torch.manual_seed(seed)
    return config, MODELS[name].build(config, SPEC)


def batch(
    seq_len: int, *, n: int = BATCH, n_features: int = SPEC.n_features, seed: int = 0
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """X [n, L, F], symbol [n], y [n, H] class indices, w [n, H] sample weights."""
    g = torch.Generator().manual_seed(seed)
    h = len(SPEC.horizons)
    x = torch.randn(n, seq_len, n_features, generator=g)
    symbol = torch.randint(0, SPEC.n_symbols, (n,), generator=g)
    y = torch.randint(0, N_CLASSES, (n, h), generator=g)
    w = torch.rand(n, h, generator=g) + 0.5
    return x, symbol, y, w


def weighted_ce(out: dict[str, Tensor], y: Tensor, w: Tensor) -> Tensor:
    """Sum over horizons of the sample-weighted mean cross-entropy."""
    total = torch.zeros(())
    for k, h in enumerate(SPEC.horizons):
        ce = F.cross_entropy(out[logits_key(h)], y[:, k], reduction="none")  # [B]
        total = total + (ce * w[:, k]).sum() / w[:, k].sum()
    return total


def zero_by_design(name: str) -> bool:
    """Key-projection biases: softmax ignores a shift shared by all keys, so their grad is ~0."""
    return name.endswith(".bias") and ("W_K" in name or "k_layers" in name)


# --- the contract ------------------------------------------------------------------------------


def test_tiny_overrides_cover_every_model() -> None:
    assert set(TINY) == set(MODELS)


@pytest.mark.parametrize("name", NAMES)
def test_forward_gives_finite_logits_per_horizon(name: str) -> None:
    config, model = small_model(name)
    x, symbol, _, _ = batch(config.seq_len)
    out = model(x, symbol)
    assert set(out) == {logits_key(h) for h in SPEC.horizons}
    for logits in out.values():
        assert logits.shape == (BATCH, N_CLASSES)
        assert logits.dtype == torch.float32
        assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", NAMES)
def test_weighted_loss_is_finite(name: str) -> None:
    config, model = small_model(name)
    x, symbol, y, w = batch(config.seq_len)
    assert torch.isfinite(weighted_ce(model(x, symbol), y, w))


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_parameter(name: str) -> None:
    config, model = small_model(name)
    x, symbol, y, w = batch(config.seq_len)
    weighted_ce(model(x, symbol), y, w).backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert [n for n, p in trainable if p.grad is None] == []
    dead = [n for n, p in trainable if not p.grad.any() and not zero_by_design(n)]
    assert dead == []


@pytest.mark.parametrize("name", NAMES)
def test_adam_step_changes_parameters(name: str) -> None:
    config, model = small_model(name)
    x, symbol, y, w = batch(config.seq_len)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    weighted_ce(model(x, symbol), y, w).backward()
    optimizer.step()
    stepped = [n for n, p in model.named_parameters() if p.grad is not None and p.grad.any()]
    assert stepped
    assert [n for n in stepped if torch.equal(before[n], model.get_parameter(n))] == []


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip(name: str) -> None:
    config, model = small_model(name, seed=0)
    x, symbol, _, _ = batch(config.seq_len)
    model(x, symbol)  # a train-mode pass moves BatchNorm running stats off their initial values
    model.eval()
    _, fresh = small_model(name, seed=1)
    fresh.load_state_dict(model.state_dict())
    fresh.eval()
    with torch.no_grad():
        expected, got = model(x, symbol), fresh(x, symbol)
    for key in expected:
        assert torch.equal(expected[key], got[key])


@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_with_config_loads_weights_only(name: str, tmp_path: Path) -> None:
    config, model = small_model(name)
    model.eval()
    path = tmp_path / f"{name}.pth"
    torch.save({"state_dict": model.state_dict(), "config": dataclasses.asdict(config)}, path)

    loaded = torch.load(path, weights_only=True)
    restored_config = model_config(name, loaded["config"])
    restored = MODELS[name].build(restored_config, SPEC)
    restored.load_state_dict(loaded["state_dict"])
    restored.eval()

    assert restored_config == config
    x, symbol, _, _ = batch(config.seq_len)
    with torch.no_grad():
        expected, got = model(x, symbol), restored(x, symbol)
    for key in expected:
        assert torch.equal(expected[key], got[key])


@pytest.mark.parametrize("scaling", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_reads_symbol_says_whether_the_symbol_changes_the_output(name: str, scaling: bool) -> None:
    _, model = small_model(name, symbol_scaling=scaling)
    for part in model.modules():  # statistics that differ by symbol, as fit sets them
        if isinstance(part, SymbolScaler):
            part.fit(torch.randn(40, SPEC.n_features) * 2 + 1, torch.arange(40) % 2)
    model.eval()
    x, symbol, _, _ = batch(TINY[name]["seq_len"])
    with torch.no_grad():
        out, other = model(x, symbol), model(x, 1 - symbol)
    changed = any(not torch.equal(out[key], other[key]) for key in out)
    assert changed == MODELS[name].reads_symbol(model_config(name, {"symbol_scaling": scaling}))
    if not changed:  # predict passes None for symbols the model never saw
        with torch.no_grad():
            blind = model(x, None)
        assert all(torch.equal(out[key], blind[key]) for key in out)


def test_the_symbol_scaler_standardizes_each_symbol_on_its_own_rows() -> None:
    g = torch.Generator().manual_seed(0)
    symbols = torch.arange(200) % 2
    # symbol 1's features sit 100x tighter around another level, as a 1-hour return beside a
    # 1-day one after one scaler for both
    features = torch.randn(200, 3, generator=g) * torch.where(symbols[:, None] == 1, 0.01, 1.0)
    features = features + symbols[:, None] * 5.0
    scaler = SymbolScaler(2, 3)
    scaler.fit(features, symbols)
    out = scaler(features[:, None, :], symbols)[:, 0]  # [N, F]
    for s in (0, 1):
        own = out[symbols == s]
        assert torch.allclose(own.mean(0), torch.zeros(3), atol=1e-4)
        assert torch.allclose(own.std(0), torch.ones(3), atol=1e-4)
    with pytest.raises(ValueError, match="symbol id"):
        scaler(features[:, None, :], None)


@pytest.mark.parametrize("name", NAMES)
def test_default_config_runs_at_full_size(name: str) -> None:
    config = MODELS[name].config()
    spec = dataclasses.replace(SPEC, feature_names=tuple(f"f{i}" for i in range(50)))
    torch.manual_seed(0)
    model = MODELS[name].build(config, spec).eval()
    x, symbol, _, _ = batch(128, n=4, n_features=50)
    assert config.seq_len == 128
    with torch.no_grad():
        out = model(x, symbol)
    assert all(v.shape == (4, N_CLASSES) and torch.isfinite(v).all() for v in out.values())


@pytest.mark.parametrize("name", NAMES)
def test_search_space_fixed_section_holds_the_seed_defaults(name: str) -> None:
    space = load_space(SEARCH_SPACES / f"{name}.yaml")
    assert space.model == name
    assert RunConfig.from_flat(space.flat({})).net == MODELS[name].config()


# --- model_config ------------------------------------------------------------------------------


def test_model_config_defaults_equal_the_dataclass_defaults() -> None:
    for name, model_def in MODELS.items():
        assert model_config(name, {}) == model_def.config()


def test_model_config_rejects_unknown_key() -> None:
    with pytest.raises(ValueError, match="learning_rate"):
        model_config("nhits", {"dropout": 0.1, "learning_rate": 1.0e-3})


def test_model_config_rejects_unknown_model() -> None:
    with pytest.raises(ValueError, match="lstm"):
        model_config("lstm", {})


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("tft", "hidden_size", "128"),
        ("tft", "hidden_size", 128.0),
        ("tft", "hidden_size", True),
        ("patchtst", "revin", 1),
        ("nhits", "dropout", "0.2"),
        ("nhits", "dropout", False),
        ("nhits", "pooling", 3),
    ],
)
def test_model_config_rejects_wrong_type(name: str, key: str, value: Any) -> None:
    with pytest.raises(ValueError, match=key):
        model_config(name, {key: value})


def test_model_config_takes_an_int_for_a_float() -> None:
    config = model_config("tft", {"dropout": 0})
    assert config.dropout == 0.0
    assert isinstance(config.dropout, float)


@pytest.mark.parametrize(
    ("name", "values", "message"),
    [
        ("patchtst", {"n_heads": 3}, "n_heads"),
        ("patchtst", {"patch_len": 200}, "patch_len"),
        ("tft", {"n_heads": 5}, "n_heads"),
        ("nhits", {"pooling": "nope"}, "pooling"),
        ("nhits", {"pooling": "deep", "seq_len": 8}, "pooling"),
        ("nhits", {"dropout": 1.0}, "dropout"),
    ],
)
def test_config_rejects_invalid_values(name: str, values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model_config(name, values)


# --- per model ---------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", sorted(POOLING_PRESETS))
def test_nhits_builds_every_pooling_preset(preset: str) -> None:
    config, model = small_model("nhits", pooling=preset)
    x, symbol, _, _ = batch(config.seq_len)
    assert model(x, symbol)[logits_key(20)].shape == (BATCH, N_CLASSES)


@pytest.mark.parametrize("name", ["nhits", "patchtst"])
def test_fixed_length_models_reject_another_window_length(name: str) -> None:
    config, model = small_model(name)
    x, symbol, _, _ = batch(config.seq_len + 1)
    with pytest.raises(ValueError, match="L="):
        model(x, symbol)


@pytest.mark.parametrize(("norm", "pool"), [("batch", "mean"), ("layer", "flatten")])
def test_patchtst_batched_pass_equals_per_channel_loop(norm: str, pool: str) -> None:
    config, model = small_model("patchtst", norm=norm, revin_affine=True, patch_pool=pool)
    x, symbol, _, _ = batch(config.seq_len)
    model(x, symbol)  # train-mode pass: BatchNorm running stats are no longer the identity
    model.eval()
    with torch.no_grad():
        batched, looped = model(x, symbol), forward_per_channel(model, x, symbol)
    for key in batched:
        torch.testing.assert_close(looped[key], batched[key], atol=1e-5, rtol=0)


@pytest.mark.parametrize("pool", ["mean", "flatten"])
def test_patchtst_flattened_patches_tell_the_latest_from_the_oldest(pool: str) -> None:
    config, model = small_model("patchtst", patch_pool=pool)
    model.eval()
    encoded = torch.randn(BATCH, SPEC.n_features, config.d_model, config.n_patches)
    with torch.no_grad():
        ordered, reversed_ = model.readout(encoded), model.readout(encoded.flip(-1))
    same = torch.allclose(ordered[logits_key(1)], reversed_[logits_key(1)], atol=1e-6)
    assert same == (pool == "mean")  # averaging forgets the order, the paper's head keeps it


def test_patchtst_head_hidden_0_is_one_linear_layer_per_horizon() -> None:
    config, model = small_model("patchtst", head_hidden=0, patch_pool="flatten")
    model.eval()
    e = torch.randn(BATCH, SPEC.n_features, config.d_model, config.n_patches)
    with torch.no_grad():
        zero, once, twice = (model.readout(k * e)[logits_key(1)] for k in (0.0, 1.0, 2.0))
    torch.testing.assert_close(twice - once, once - zero)  # affine: no hidden layer, no ReLU
    assert (
        sum(p.numel() for p in model.head.parameters())
        == len(SPEC.horizons)
        * (config.d_model * config.n_patches * SPEC.n_features + 1)
        * N_CLASSES
    )


def test_patchtst_patches_end_at_the_last_step() -> None:
    # 30 steps, patches of 8 every 4: 6 patches cover steps 2..29, so steps 0..1 are unused.
    config, model = small_model("patchtst", seq_len=30)
    model.eval()
    x, symbol, _, _ = batch(config.seq_len)
    changed_old, changed_new = x.clone(), x.clone()
    changed_old[:, :2] += 1.0
    changed_new[:, -1] += 1.0
    with torch.no_grad():
        base, old, new = model(x, symbol), model(changed_old, symbol), model(changed_new, symbol)
    assert torch.equal(base[logits_key(1)], old[logits_key(1)])
    assert not torch.equal(base[logits_key(1)], new[logits_key(1)])


def test_tft_interpret_gives_normalized_importance_and_attention() -> None:
    config, model = small_model("tft")
    model.eval()
    x, symbol, _, _ = batch(config.seq_len)
    weights = model.interpret(x, symbol)
    importance, attention = weights["feature_importance"], weights["attention"]
    assert importance.shape == (BATCH, SPEC.n_features)
    assert attention.shape == (BATCH, config.seq_len)
    assert (importance >= 0).all() and (attention >= 0).all()
    torch.testing.assert_close(importance.sum(dim=1), torch.ones(BATCH))
    torch.testing.assert_close(attention.sum(dim=1), torch.ones(BATCH))


def test_tft_uses_the_symbol() -> None:
    config, model = small_model("tft")
    model.eval()
    x, _, _, _ = batch(config.seq_len)
    with torch.no_grad():
        mes = model(x, torch.zeros(BATCH, dtype=torch.long))
        mgc = model(x, torch.ones(BATCH, dtype=torch.long))
    assert not torch.equal(mes[logits_key(1)], mgc[logits_key(1)])


@pytest.mark.slow
def test_importing_models_leaves_the_forecasting_libraries_unloaded() -> None:
    code = (
        "import sys, harness.models; "
        "print(sorted(m for m in ('neuralforecast', 'pytorch_forecasting') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
