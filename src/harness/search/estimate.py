"""What a search will cost, said before the first trial: time per epoch and trial, and memory.

Time: a few training batches of the space's default config (its `fixed:` values under the
profile), each a forward, the weighted loss, backward and an optimizer step as `fit` runs them,
on the training device with the data prepared there; then forwards without gradients for the
evaluation; scaled by the budget's batches per epoch, evaluated rows and epochs. After one
untimed batch (lazy initialization, thread pools, autotuning: on a busy CPU it can take ten
times a batch) it times training batches for about 1.5 seconds and evaluation batches for about
half a second, one of each at least and never more than an epoch of the budget holds: a few
seconds, or three batches of a model too slow for the device. On a CPU shared with other jobs a
batch's time varies several-fold from one to the next: the estimate is what the machine gave at
that moment.

Memory: the largest config of the space (every numeric choice and range at its top end, with
each choice of the other categoricals and presets) is built, and what autograd saves for
backward in one forward of random windows at batch sizes 2 and 4 is measured (saved-tensor hooks:
the activations, parameters excluded), extrapolated linearly to the config's batch size, and
multiplied by 2.5 for what backward allocates beside it. Add 16 bytes per parameter (fp32
weights, gradients and Adam's two moments), the data on the device, and on a GPU 0.5 GiB for the
CUDA context. That is compared with what one worker has: the GPU's free memory shared by the
workers pinned to it, or the RAM available shared by the workers (each also loads the libraries
and the data, as this process did). Checked on a CPU against the peak RSS growth of two training
steps (TFT, PatchTST, N-HiTS at seed and cpu sizes): the factor 2 fell within 20% of it either
way, so 2.5 errs on the side of a warning. benchmarks/gpu_check.py prints both on a GPU.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from harness.config import Budget, RunConfig, ScoreConfig
from harness.config.space import CategoricalParam, FloatParam, IntParam, SearchSpace
from harness.data import Batch, DataSpec, PreparedData
from harness.devices import device_for_training
from harness.screen import duration
from harness.training import Phase2Module, eval_batch_size, weighted_loss
from harness.training.fit import build_net
from harness.training.recipe import Recipe

GIB = 1024**3
BYTES_PER_PARAM = 16  # fp32 weight, gradient, Adam's first and second moments
BACKWARD_FACTOR = 2.5  # saved activations, and what backward allocates beside them
CUDA_CONTEXT = GIB // 2
MAX_CANDIDATES = 16  # largest configs measured (one per choice of the non-numeric params)


@dataclass(frozen=True)
class TimeEstimate:
    batch_size: int
    step_seconds: float  # one training batch
    steps_timed: int
    eval_seconds_per_window: float
    build_seconds: float  # the network and its optimizer, once per trial
    train_batches: int  # per epoch, under the budget
    eval_windows: int  # scored per epoch (val and recent train rows), under the budget
    epochs: int  # the budget's most

    @property
    def epoch_seconds(self) -> float:
        return self.train_batches * self.step_seconds + self.eval_windows * (
            self.eval_seconds_per_window
        )

    @property
    def trial_seconds(self) -> float:
        """At most: early stopping and pruning end trials sooner."""
        return self.build_seconds + self.epochs * self.epoch_seconds


@dataclass(frozen=True)
class MemoryEstimate:
    config: dict[str, Any]  # the sampled values of the largest config
    batch_size: int
    params: int
    needed: int  # bytes one worker needs to train it
    available: int  # bytes one worker has
    where: str  # "RAM" or "GPU memory"

    @property
    def fits(self) -> bool:
        return self.needed <= self.available


@dataclass(frozen=True)
class Estimate:
    model: str
    profile: str
    time: TimeEstimate
    memory: MemoryEstimate

    def lines(self, *, trials: int, parallel: int = 1) -> list[str]:
        """One line of time, one of memory (a warning when the largest config does not fit).
        `parallel`: trials running at once to good effect (GPUs used; CPU workers share cores)."""
        t, m = self.time, self.memory
        total = math.ceil(trials / parallel) * t.trial_seconds
        lines = [
            f"estimate: {t.step_seconds:.3g} s per train batch of {t.batch_size} "
            f"({self.model}'s default {self.profile} config, {t.steps_timed} timed); "
            f"{duration(t.epoch_seconds)} per epoch ({t.train_batches} batches, "
            f"{t.eval_windows:,} windows scored), at most {duration(t.trial_seconds)} per trial "
            f"({t.epochs} epochs); {trials} trial(s): at most {duration(total)}"
        ]
        shown = ", ".join(f"{k}={v}" for k, v in m.config.items()) or "the default"
        need = f"about {m.needed / GIB:.1f} GiB per worker"
        have = f"{m.available / GIB:.1f} GiB of {m.where} per worker"
        if m.fits:
            lines.append(f"memory: the largest config ({shown}) needs {need}; {have}")
        else:
            lines.append(
                f"warning: the largest config of the space ({shown}) needs {need}, more than "
                f"the {have}: trials that large will fail out of memory (each alone, its reason "
                "stored). A smaller profile or space, or fewer --jobs, avoids them."
            )
        return lines


def estimate(recipe: Recipe, *, jobs: int = 1, gpus: int = 0, seed: int = 0) -> Estimate:
    """Time the default config and bound the largest; `gpus`: the GPUs the search's workers are
    spread over (0 on a CPU)."""
    result = Estimate(
        model=recipe.model,
        profile=recipe.profile,
        time=time_default(recipe, seed=seed),
        memory=memory_of_largest(recipe, jobs=jobs, gpus=gpus),
    )
    if torch.cuda.is_available():
        torch.cuda.empty_cache()  # what the measurements held goes back to the trials
    return result


# --- time ---------------------------------------------------------------------------------------


def time_default(recipe: Recipe, *, seed: int = 0, seconds: float = 1.5) -> TimeEstimate:
    run = recipe.default_run()
    data = recipe.prepared(run)
    budget = recipe.budget
    train = data.loader(
        "train", batch_size=run.train.batch_size, shuffle=True, max_batches=budget.batches_per_epoch
    )
    most = min(20, len(train))  # a tiny budget (a test's, a smoke run's): a trivial estimate
    start = time.perf_counter()
    net, step = train_step(run, data, seed=seed)
    batches = _cycle(data, run.train.batch_size, seed)
    built = time.perf_counter()
    step(next(batches))  # warm-up: lazy initialization, allocator, thread pools, autotuning
    _sync(data.device)
    timed, total = 0, 0.0
    while timed < 1 or (total < seconds and timed < most):
        t0 = time.perf_counter()
        step(next(batches))
        _sync(data.device)
        total += time.perf_counter() - t0
        timed += 1
    net.eval()
    windows, spent = 0, 0.0
    with torch.no_grad(), _autocast(run, data.device):
        while windows == 0 or (spent < seconds / 3 and windows < most * run.train.batch_size):
            b = next(batches)
            t0 = time.perf_counter()
            net(b.x, b.symbol)
            _sync(data.device)
            spent += time.perf_counter() - t0
            windows += len(b.x)
    eval_per_window = spent / windows

    limit = math.inf if budget.eval_batches is None else budget.eval_batches * eval_batch_size(run)
    scored = (data.val, data.tail("train", budget.train_eval_rows))
    return TimeEstimate(
        batch_size=run.train.batch_size,
        step_seconds=total / timed,
        steps_timed=timed,
        eval_seconds_per_window=eval_per_window,
        build_seconds=built - start,
        train_batches=len(train),
        eval_windows=int(sum(min(len(rows), limit) for rows in scored)),
        epochs=budget.max_epochs,
    )


def train_step(
    run: RunConfig, data: PreparedData, *, seed: int = 0
) -> tuple[nn.Module, Callable[[Batch], torch.Tensor]]:
    """The network of `run` on the data's device, and one training step on a batch as `fit`
    takes it: the training module's forward, loss and optimizer; autocast under bf16-mixed and
    gradient clipping as Lightning's precision plugin and `gradient_clip_val` apply them."""
    net = build_net(run, data, seed=seed)
    module = Phase2Module(
        net,
        data=data,
        config=run.train,
        score=ScoreConfig(),  # neither changes a training step
        budget=Budget(),
        bars_per_year=data.bars_per_year,
    )
    module = module.to(data.device).train()
    optimizer = module.make_optimizer()
    clip = run.train.grad_clip

    def step(batch: Batch) -> torch.Tensor:
        with _autocast(run, data.device):
            loss = module.loss(module(batch.x, batch.symbol), batch)
        optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(loss)
        if clip:
            nn.utils.clip_grad_norm_(net.parameters(), clip)
        optimizer.step()
        return loss.detach()

    return net, step


def _cycle(data: PreparedData, batch_size: int, seed: int) -> Iterator[Batch]:
    loader = data.loader("train", batch_size=batch_size, shuffle=True, seed=seed)
    if len(loader) == 0:
        raise ValueError("no train windows to time")
    while True:
        yield from loader


def _autocast(run: RunConfig, device: torch.device) -> torch.autocast:
    return torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=run.train.precision == "bf16-mixed"
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --- memory -------------------------------------------------------------------------------------


def largest_configs(space: SearchSpace) -> list[dict[str, Any]]:
    """Sampled values of the space's largest configs: every float and int range and every
    numeric categorical at its top, with each combination of the other choices (presets, strings,
    booleans), the first MAX_CANDIDATES of them."""
    top: dict[str, Any] = {}
    spread: dict[str, list[Any]] = {}
    for name, p in space.params.items():
        if isinstance(p, FloatParam | IntParam):
            top[name] = p.high
        elif isinstance(p, CategoricalParam) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in p.choices
        ):
            top[name] = max(p.choices, key=float)
        else:
            spread[name] = p.corners()
    combos = itertools.islice(itertools.product(*spread.values()), MAX_CANDIDATES)
    return [{**top, **dict(zip(spread, combo, strict=True))} for combo in combos]


def _saved_bytes(
    net: nn.Module, run: RunConfig, spec: DataSpec, device: torch.device, batch: int
) -> int:
    params = {p.untyped_storage().data_ptr() for p in net.parameters()}
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr and ptr not in params:
            saved[ptr] = max(saved.get(ptr, 0), storage.nbytes())
        return t

    b = _random_batch(spec, run.seq_len, batch, device)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), _autocast(run, device):
        out = net(b.x, b.symbol)
        weighted_loss(
            out,
            b,
            horizons=spec.horizons,
            alphas=run.train.alphas(spec.horizons),
            class_weights=None,
        )
    return sum(saved.values())


def _random_batch(spec: DataSpec, seq_len: int, batch: int, device: torch.device) -> Batch:
    g = torch.Generator().manual_seed(0)
    h = len(spec.horizons)
    return Batch(
        x=torch.randn(batch, seq_len, spec.n_features, generator=g).to(device),
        y=torch.randint(0, 3, (batch, h), generator=g).to(device),
        w=torch.ones(batch, h, device=device),
        symbol=torch.zeros(batch, dtype=torch.int64, device=device),
        rows=torch.arange(batch, device=device),
    )


def training_bytes(run: RunConfig, spec: DataSpec, device: torch.device) -> tuple[int, int]:
    """Bytes one training step of `run` needs, and its parameter count (see the module doc)."""
    from harness.models import MODELS

    torch.manual_seed(0)
    net = MODELS[run.model].build(run.net, spec).to(device).train()
    n_params = sum(p.numel() for p in net.parameters())
    small, large = (_saved_bytes(net, run, spec, device, b) for b in (2, 4))
    per_window = max(0.0, (large - small) / 2)
    activations = max(small, small + per_window * (run.train.batch_size - 2))
    extra = CUDA_CONTEXT if device.type == "cuda" else 0
    return int(BYTES_PER_PARAM * n_params + BACKWARD_FACTOR * activations) + extra, n_params


def memory_of_largest(recipe: Recipe, *, jobs: int = 1, gpus: int = 0) -> MemoryEstimate:
    """The largest config of the recipe's space, what it needs, and what one worker has."""
    device = recipe.device or device_for_training()
    spec = DataSpec(recipe.data.feature_names, recipe.data.horizons, recipe.data.symbols)
    frame_rows = len(recipe.data.frame)
    data_bytes = frame_rows * (4 * spec.n_features + 12 * len(spec.horizons) + 8)
    worst: MemoryEstimate | None = None
    for values in largest_configs(recipe.space):
        run = RunConfig.from_flat(recipe.space.flat(values))
        needed, n_params = training_bytes(run, spec, device)
        candidate = MemoryEstimate(
            config=values,
            batch_size=run.train.batch_size,
            params=n_params,
            needed=needed + data_bytes,
            available=0,
            where="",
        )
        if worst is None or candidate.needed > worst.needed:
            worst = candidate
    assert worst is not None  # a space has one config at least: its fixed values
    available, where = available_bytes(device, jobs=jobs, gpus=gpus)
    return MemoryEstimate(
        config=worst.config,
        batch_size=worst.batch_size,
        params=worst.params,
        needed=worst.needed,
        available=available,
        where=where,
    )


def available_bytes(device: torch.device, *, jobs: int = 1, gpus: int = 0) -> tuple[int, str]:
    """Bytes one of `jobs` workers has: its GPU's free memory shared by the workers pinned to it,
    or the available RAM shared by all, less what each spawned worker loads as this process did."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        sharing = math.ceil(jobs / max(1, gpus)) if jobs > 1 else 1
        return free // sharing, "GPU memory"
    available = _ram_available()
    if jobs > 1:
        available -= jobs * _resident()
    return max(0, available) // jobs, "RAM"


def _ram_available() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _resident() -> int:
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0
