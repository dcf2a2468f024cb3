"""Training windows/s of each model, and PatchTST's batched channel pass against a Python loop.

    python benchmarks/models.py [--seconds 3] [--threads N]

(a) seed size: each model's seed Config (L = 128) on F = 50 features, at the seed's batch size
    (the `fixed:` section of search_spaces/{model}.yaml);
(b) cpu size: the `cpu` profile's fixed values of the same file, on the demo dataset's feature
    count, at the batch size those values give.

A train step is what `fit` does per batch: forward, the weighted multi-horizon loss, backward and
an Adam step, on random windows already on the device, so the numbers are the models' own cost
(benchmarks/data_pipeline.py measures the batches). Each rate is taken after a second of warm-up
(one step at least), over about `--seconds` seconds and `--min-steps` steps at least: TFT at seed
size takes seconds per step on a CPU.

PatchTST encodes each of its F channels with one shared transformer; the model does it in one
batched pass over B * F series, `forward_per_channel` in a loop of F passes over
B series. Both are run in eval mode on the same weights and checked equal before they are timed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from harness.config import RunConfig
from harness.config.space import load_space
from harness.data import Batch, DataSpec
from harness.data.demo import make_demo
from harness.devices import device_for_training
from harness.models import MODELS
from harness.models.patchtst import PatchTSTClassifier
from harness.training import weighted_loss

SPACES = Path(__file__).resolve().parents[1] / "search_spaces"
SEED_FEATURES = 50
HORIZONS = (1, 5, 20)


def forward_per_channel(
    model: PatchTSTClassifier, x: Tensor, symbol: Tensor | None = None
) -> dict[str, Tensor]:
    """The same network, one channel at a time in a Python loop (a baseline for benchmarks).

    Equal to ``model(x, symbol)`` in eval mode. In train mode BatchNorm ("batch" norm) takes its
    statistics per call, so the two differ there.
    """
    patches = model.patches(x, symbol)  # [B, F, patch_len, P]
    encoded = [model.encoder(patches[:, f : f + 1]) for f in range(patches.shape[1])]
    return model.readout(torch.cat(encoded, dim=1))  # F x [B, 1, d_model, P] -> [B, F, d_model, P]


def spec_for(n_features: int) -> DataSpec:
    return DataSpec(tuple(f"feature_{k}" for k in range(n_features)), HORIZONS, ("MES", "MGC"))


def run_config(model: str, *, profile: str) -> RunConfig:
    """The config `harness train` uses: the search space's fixed values under `profile`."""
    space = load_space(SPACES / f"{model}.yaml").for_profile(profile)
    return RunConfig.from_flat(space.flat({}), where=str(SPACES / f"{model}.yaml"))


def random_batch(
    batch: int, seq_len: int, spec: DataSpec, device: torch.device, *, seed: int = 0
) -> Batch:
    g = torch.Generator().manual_seed(seed)
    h = len(spec.horizons)
    return Batch(
        x=torch.randn(batch, seq_len, spec.n_features, generator=g).to(device),
        y=torch.randint(0, 3, (batch, h), generator=g).to(device),
        w=(torch.rand(batch, h, generator=g) + 0.5).to(device),
        symbol=torch.randint(0, spec.n_symbols, (batch,), generator=g).to(device),
        rows=torch.arange(batch, device=device),
    )


def rate(
    step: Callable[[], object],
    *,
    batch: int,
    seconds: float,
    warmup: float,
    min_steps: int,
    device: torch.device,
) -> tuple[float, int]:
    """Windows per second of `step`, and the steps timed. Untimed warm-up first (allocator,
    thread pool, lazy inits): steps for `warmup` seconds, one at least."""

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    start = time.perf_counter()
    step()
    sync()
    while time.perf_counter() - start < warmup:
        step()
        sync()
    steps, start = 0, time.perf_counter()
    while steps < min_steps or time.perf_counter() - start < seconds:
        step()
        sync()  # so the clock sees finished steps, not queued ones
        steps += 1
    return steps * batch / (time.perf_counter() - start), steps


def train_step(run: RunConfig, spec: DataSpec, device: torch.device) -> Callable[[], None]:
    """One training step of `run` (forward, loss, backward, Adam) on a fixed random batch."""
    torch.manual_seed(0)
    net = MODELS[run.model].build(run.net, spec).to(device).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)  # small: no step may diverge
    batch = random_batch(run.train.batch_size, run.seq_len, spec, device)
    alphas = run.train.alphas(spec.horizons)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = weighted_loss(
            net(batch.x, batch.symbol),
            batch,
            horizons=spec.horizons,
            alphas=alphas,
            class_weights=None,
        )
        loss.backward()
        optimizer.step()

    return step


def train_rate(
    run: RunConfig, spec: DataSpec, device: torch.device, **timing: Any
) -> tuple[float, int]:
    return rate(train_step(run, spec, device), batch=run.train.batch_size, device=device, **timing)


def n_params(run: RunConfig, spec: DataSpec) -> int:
    net = MODELS[run.model].build(run.net, spec)
    return sum(p.numel() for p in net.parameters())


def channel_rates(
    run: RunConfig, spec: DataSpec, device: torch.device, **timing: Any
) -> tuple[float, float]:
    """PatchTST forward windows/s: one batched pass, and the per-channel loop; outputs equal."""
    torch.manual_seed(0)
    net = MODELS["patchtst"].build(run.net, spec).to(device)
    assert isinstance(net, PatchTSTClassifier)
    batch = random_batch(run.train.batch_size, run.seq_len, spec, device, seed=1)
    net.train()
    with torch.no_grad():
        net(batch.x, batch.symbol)  # BatchNorm running statistics off their initial values
    net.eval()
    with torch.no_grad():
        batched = net(batch.x, batch.symbol)
        looped = forward_per_channel(net, batch.x, batch.symbol)
    for key in batched:
        torch.testing.assert_close(looped[key], batched[key])

    @torch.no_grad()
    def one() -> None:
        net(batch.x, batch.symbol)

    @torch.no_grad()
    def loop() -> None:
        forward_per_channel(net, batch.x, batch.symbol)

    size = run.train.batch_size
    fast, _ = rate(one, batch=size, device=device, **timing)
    slow, _ = rate(loop, batch=size, device=device, **timing)
    return fast, slow


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per measurement")
    p.add_argument("--warmup", type=float, default=1.0, help="untimed seconds before each rate")
    p.add_argument("--min-steps", type=int, default=2, help="timed steps at least")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = device_for_training()
    timing = {"seconds": args.seconds, "warmup": args.warmup, "min_steps": args.min_steps}

    with tempfile.TemporaryDirectory() as tmp:
        demo_features = make_demo(Path(tmp), days=2).n_features
    sizes = {"seed": SEED_FEATURES, "cpu": demo_features}

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    threads = torch.get_num_threads()
    print(f"device={device} ({name}) torch threads={threads} torch {torch.__version__}")
    print()
    print("| model | size | F | L | B | params | train windows/s | steps timed |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for model in sorted(MODELS):
        for size, n_features in sizes.items():
            run = run_config(model, profile=size)
            spec = spec_for(n_features)
            windows, steps = train_rate(run, spec, device, **timing)
            print(
                f"| {model} | {size} | {n_features} | {run.seq_len} | {run.train.batch_size} "
                f"| {n_params(run, spec):,} | {windows:,.0f} | {steps} |",
                flush=True,
            )

    print()
    print("PatchTST channel independence, forward in eval mode (outputs checked equal):")
    print()
    print("| size | F | L | B | batched windows/s | per-channel loop windows/s | speedup |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for size, n_features in sizes.items():
        run = run_config("patchtst", profile=size)
        fast, slow = channel_rates(run, spec_for(n_features), device, **timing)
        print(
            f"| {size} | {n_features} | {run.seq_len} | {run.train.batch_size} | {fast:,.0f} "
            f"| {slow:,.0f} | {fast / slow:.1f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
