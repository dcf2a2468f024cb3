"""GPU check: seed-size training on the device, the loader there, peak memory, a pruned search.

    python benchmarks/gpu_check.py [--out FILE] [--budget 450] [--cpu-dry-run]

Prints one JSON object per line, one per figure (and appends them to --out when given):

- `gpu`: the device, or `"available": false` and exit 0 at once where no CUDA GPU is seen;
- `train`: per model at its seed size (the `fixed:` values of its search space, profile
  `seed`), training windows/s in `32-true` and `bf16-mixed`: forward, loss, backward, clipping
  and an optimizer step (harness.search.estimate.train_step, as `fit` runs them) on batches of
  the real loader over the demo dataset prepared on the device;
- `resident`: per model, `fit` itself (Lightning) for a few batches with every `Tensor.to` and
  `Tensor.cuda` that moves a CPU tensor to the GPU counted: the data are resident when the bytes
  moved per batch stay below a tenth of one batch's windows (`"resident": true`; false is a
  failure: the last line lists failures, and the exit code is 1);
- `peak_memory`: per model and precision, the allocator's peak while training, beside the data
  on the device and the estimate the search prints (harness.search.estimate.training_bytes);
- `loader`: `PreparedData.loader` windows/s on the device against a plain device copy of the
  same bytes (a clone of a contiguous block);
- `search`: `harness search --model patchtst --trials 20` (profile seed, the default pruner) on
  the demo dataset with epochs and batches capped to fit the budget: wall time, trials by state,
  epochs trained, and the estimate the search printed first.

Sized to finish in under 8 minutes on one GPU (--budget seconds, 450 by default: the search gets
what the other figures leave, and is skipped, saying so, when too little is left). It has not yet
run on a GPU: the numbers in the README come from whoever runs it first. `--cpu-dry-run` runs the
same code on the CPU at the cpu profile, a small demo and a 2-trial search, to check the script
itself where no GPU is lent; its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
START = time.monotonic()
MODELS = ("nhits", "tft", "patchtst")
PRECISIONS = ("32-true", "bf16-mixed")


@dataclass(frozen=True)
class Settings:
    device: torch.device
    profile: str  # seed on the GPU
    trials: int  # of the search
    caps: tuple[int, int]  # the search's --epochs and --max-batches
    days: int  # of the demo dataset


GPU = Settings(torch.device("cuda"), "seed", trials=20, caps=(6, 150), days=60)
DRY = Settings(torch.device("cpu"), "cpu", trials=2, caps=(1, 2), days=5)


FAILURES: list[str] = []  # checks that did not hold: the exit code is 1 when any


def emit(out: Path | None, **figure: Any) -> None:
    line = json.dumps(figure, sort_keys=False)
    print(line, flush=True)
    if out is not None:
        with out.open("a") as f:
            f.write(line + "\n")


def elapsed() -> float:
    return time.monotonic() - START


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextmanager
def host_to_device_counted() -> Iterator[dict[str, int]]:
    """Counts `Tensor.to` / `Tensor.cuda` calls that move a CPU tensor onto a CUDA device."""
    counts = {"calls": 0, "bytes": 0}
    original_to, original_cuda = torch.Tensor.to, torch.Tensor.cuda

    def moves_to_cuda(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        for a in (*args, kwargs.get("device")):
            if isinstance(a, torch.Tensor):
                a = a.device
            if isinstance(a, str | torch.device) and torch.device(a).type == "cuda":
                return True
        return False

    def to(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        if self.device.type == "cpu" and moves_to_cuda(args, kwargs):
            counts["calls"] += 1
            counts["bytes"] += self.numel() * self.element_size()
        return original_to(self, *args, **kwargs)

    def cuda(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        if self.device.type == "cpu":
            counts["calls"] += 1
            counts["bytes"] += self.numel() * self.element_size()
        return original_cuda(self, *args, **kwargs)

    patched = {"to": (to, original_to), "cuda": (cuda, original_cuda)}
    for name, (counting, _) in patched.items():
        setattr(torch.Tensor, name, counting)
    try:
        yield counts
    finally:
        for name, (_, original) in patched.items():
            setattr(torch.Tensor, name, original)


def forever(loader: Iterable[Any]) -> Iterator[Any]:
    while True:
        yield from loader


def train_figures(data_root: Path, out: Path | None, *, seconds: float, settings: Settings) -> None:
    from harness.config import Caps, RunConfig
    from harness.data import load_phase1
    from harness.search.estimate import train_step, training_bytes
    from harness.training import Recipe

    data = load_phase1(data_root)
    for model in MODELS:
        recipe = Recipe.load(
            model, data, profile=settings.profile, caps=Caps(epochs=1, max_batches=20)
        )
        base = recipe.default_run()
        prepared = recipe.prepared(base)
        device = prepared.device
        assert device.type == settings.device.type, device
        data_bytes = sum(
            t.numel() * t.element_size()
            for t in (prepared.features, prepared.labels, prepared.weights, prepared.symbol_ids)
        )
        for precision in PRECISIONS:
            run = RunConfig.from_flat({**base.to_flat(), "precision": precision})
            gpu = device.type == "cuda"
            if gpu:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats(device)
            before = torch.cuda.memory_allocated(device) if gpu else 0
            net, step = train_step(run, prepared, seed=0)
            it = forever(prepared.loader("train", batch_size=run.train.batch_size, shuffle=True))
            for _ in range(3):  # warm-up: autotuning, allocator
                step(next(it))
            sync(device)
            steps, t0 = 0, time.perf_counter()
            while steps < 5 or time.perf_counter() - t0 < seconds:
                b = next(it)
                assert b.x.device == device  # gathered on the device, never on the host
                step(b)
                steps += 1
            sync(device)
            wall = time.perf_counter() - t0
            emit(
                out,
                check="train",
                model=model,
                precision=precision,
                windows_per_s=round(steps * run.train.batch_size / wall, 1),
                batch=run.train.batch_size,
                seq_len=run.seq_len,
                features=prepared.spec.n_features,
                steps=steps,
            )
            estimate, _ = training_bytes(run, prepared.spec, device)
            peak = torch.cuda.max_memory_allocated(device) if gpu else None
            emit(
                out,
                check="peak_memory",
                model=model,
                precision=precision,
                peak_bytes=peak,
                peak_above_start_bytes=None if peak is None else peak - before,
                data_bytes=data_bytes,
                estimate_bytes=estimate,
                estimate_note="estimate adds 0.5 GiB of CUDA context, which the allocator "
                "does not count",
            )
            del net, step, it

        # Lightning's own path: no batch may be copied from the host.
        with host_to_device_counted() as moved:
            result = recipe.train(base, seed=0)
        batch_bytes = base.train.batch_size * base.seq_len * prepared.spec.n_features * 4
        per_epoch = prepared.loader(
            "train",
            batch_size=base.train.batch_size,
            shuffle=True,
            max_batches=recipe.budget.batches_per_epoch,
        )
        n_batches = len(per_epoch) * result.epochs
        per_batch = moved["bytes"] / n_batches
        resident = per_batch < batch_bytes / 10
        emit(
            out,
            check="resident",
            model=model,
            train_batches=n_batches,
            host_to_device_calls=moved["calls"],
            host_to_device_bytes=moved["bytes"],
            bytes_per_batch=round(per_batch),
            batch_x_bytes=batch_bytes,
            resident=resident,
        )
        if not resident:
            FAILURES.append(f"{model}: {per_batch:.0f} bytes per train batch moved from the host")
        recipe.release()


def loader_figure(
    data_root: Path, out: Path | None, *, settings: Settings, batches: int = 500
) -> None:
    from harness.data import load_phase1, prepare

    B, L = 256, 128
    device = settings.device
    prepared = prepare(load_phase1(data_root), seq_len=L, device=device)
    F = prepared.spec.n_features

    def ours() -> Iterator[Any]:
        while True:
            yield from prepared.loader("train", batch_size=B, shuffle=True)

    source = torch.randn(max(len(prepared.features) // L, B + 4) * L, F, device=device)
    blocks = len(source) // L - B
    offsets = torch.randint(0, blocks, (batches + 1,)).tolist()  # drawn up front: no syncs

    def plain() -> Iterator[torch.Tensor]:
        for k in offsets:
            yield source[k * L : k * L + B * L].view(B, L, F).clone()

    rates = {}
    for name, make in (("loader", ours), ("plain_copy", plain)):
        it = iter(make())
        next(it)
        sync(device)
        t0 = time.perf_counter()
        for _ in range(batches):
            next(it)
        sync(device)
        rates[name] = batches * B / (time.perf_counter() - t0)
    emit(
        out,
        check="loader",
        batch=B,
        seq_len=L,
        features=F,
        batches=batches,
        loader_windows_per_s=round(rates["loader"]),
        plain_copy_windows_per_s=round(rates["plain_copy"]),
        loader_vs_copy=round(rates["loader"] / rates["plain_copy"], 3),
    )


def search_figure(
    data_root: Path, out: Path | None, *, budget: float, work: Path, settings: Settings
) -> None:
    import optuna

    left = budget - elapsed() - 15  # the study is read back after it
    if left < 60:
        emit(out, check="search", skipped=True, reason=f"{left:.0f} s of the budget left")
        return
    storage = f"sqlite:///{work}/gpu_check.db"
    cmd = [
        sys.executable,
        "-m",
        "harness",
        "search",
        "--model",
        "patchtst",
        "--trials",
        str(settings.trials),
        "--data",
        str(data_root),
        "--storage",
        storage,
        "--study",
        "gpu-check",
        "--profile",
        settings.profile,
        "--epochs",
        str(settings.caps[0]),
        "--max-batches",
        str(settings.caps[1]),
    ]
    path = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    t0 = time.perf_counter()
    try:
        done = subprocess.run(
            cmd, cwd=work, env=env, capture_output=True, text=True, timeout=left, check=False
        )
        code, stdout, stderr, timed_out = done.returncode, done.stdout, done.stderr, False
    except subprocess.TimeoutExpired as exc:
        code, timed_out = None, True
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    wall = time.perf_counter() - t0
    lines = stdout.splitlines()
    trials = optuna.load_study(study_name="gpu-check", storage=storage).get_trials()
    states = [t.state.name.lower() for t in trials]
    emit(
        out,
        check="search",
        model="patchtst",
        profile=settings.profile,
        trials=settings.trials,
        caps={"epochs": settings.caps[0], "max_batches": settings.caps[1]},
        exit_code=code,
        timed_out=timed_out,
        wall_s=round(wall, 1),
        complete=states.count("complete"),
        pruned=states.count("pruned"),
        failed=states.count("fail"),
        epochs=sum(int(t.user_attrs.get("epochs", 0)) for t in trials),
        estimate=[line for line in lines if line.startswith(("estimate:", "memory:", "warning:"))],
        first_line=lines[0] if lines else "",
        stderr_tail=stderr.strip().splitlines()[-3:],
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=None, help="also append the JSON lines here")
    p.add_argument("--budget", type=float, default=450.0, help="seconds for the whole check")
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per train figure")
    p.add_argument(
        "--cpu-dry-run",
        action="store_true",
        help="run the same code on the CPU, small, to check the script (numbers mean nothing)",
    )
    args = p.parse_args()
    settings = DRY if args.cpu_dry_run else GPU
    if args.cpu_dry_run:
        emit(args.out, check="gpu", available=False, dry_run=True, torch=torch.__version__)
    elif not torch.cuda.is_available():
        emit(
            args.out,
            check="gpu",
            available=False,
            reason="no CUDA GPU: torch.cuda.is_available() is False; nothing to check",
            torch=torch.__version__,
        )
        return
    else:
        emit(
            args.out,
            check="gpu",
            available=True,
            name=torch.cuda.get_device_name(0),
            count=torch.cuda.device_count(),
            torch=torch.__version__,
            cuda=torch.version.cuda,
        )
    from harness.data.demo import make_demo

    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = Path(tmp)
        data_root = make_demo(work / "demo", days=settings.days).out
        train_figures(data_root, args.out, seconds=args.seconds, settings=settings)
        loader_figure(data_root, args.out, settings=settings)
        search_figure(data_root, args.out, budget=args.budget, work=work, settings=settings)
    emit(args.out, check="done", wall_s=round(elapsed(), 1), failures=FAILURES)
    if FAILURES:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
