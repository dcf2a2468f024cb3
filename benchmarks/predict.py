"""Prediction windows/s of each model (harness.predict), against its training windows/s.

    python benchmarks/predict.py [--rounds 3] [--threads N] [--batch-sizes 64 128 512]

Sizes as in benchmarks/models.py: (a) seed, each model's seed Config on F = 50 features; (b) demo,
the `demo:` values of its search space on the demo dataset's feature count. The models have
random weights (speed does not depend on them) and the scaler is the identity.

A prediction is what `harness predict` runs per model: ``Predictor.predict_proba`` on bars of two
symbols, each with L - 1 rows of history before its share of the `--windows` rows to predict
(default: one batch). The rate covers standardizing, finding full windows, cutting them, the
forward passes (eval mode, no autograd, fixed-size batches) and the softmax. A training step is
benchmarks/models.py's (forward, loss, backward, Adam at the seed's batch size).

The machine this runs on may be shared: after one untimed call of each, prediction calls and
training steps alternate for `--rounds` rounds, and each rate is the best round's, so both see
the same load and a busy moment does not count against either.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from models import run_config, spec_for, train_step  # benchmarks/models.py

from harness.config import RunConfig
from harness.data import Bars, DataSpec
from harness.data.demo import make_demo
from harness.devices import device_for_training
from harness.modelfile import BATCH_SIZE, ModelMeta, Predictor
from harness.models import MODELS

SEED_FEATURES = 50


def bars(spec: DataSpec, rows_per_symbol: int, *, seed: int = 0) -> Bars:
    """Five-minute bars of every symbol of `spec`, random standard-normal features."""
    rng = np.random.default_rng(seed)
    parts = []
    for symbol in spec.symbols:
        part = pd.DataFrame(
            rng.standard_normal((rows_per_symbol, spec.n_features)).astype(np.float32),
            columns=list(spec.feature_names),
        )
        part.insert(0, "symbol", symbol)
        part.insert(
            0, "timestamp", pd.date_range("2024-01-08", periods=rows_per_symbol, freq="5min")
        )
        parts.append(part)
    return Bars.from_frame(pd.concat(parts, ignore_index=True))


def predictor(run: RunConfig, spec: DataSpec, device: torch.device, batch_size: int) -> Predictor:
    torch.manual_seed(0)
    net = MODELS[run.model].build(run.net, spec).to(device)
    meta = ModelMeta(
        model=run.model,
        run=run,
        seeds=(0,),
        feature_names=spec.feature_names,
        horizons=spec.horizons,
        symbols=spec.symbols,
        seq_len=run.seq_len,
        window_end=run.train.window_end,
        scaler_mean=np.zeros(spec.n_features),
        scaler_std=np.ones(spec.n_features),
        data_fingerprint="benchmark",
        study="benchmark",
        trial=0,
    )
    return Predictor(net, meta, batch_size=batch_size)


def seconds_per_call(step: Callable[[], object], device: torch.device, *, least: float) -> float:
    """Mean seconds of `step` over as many calls as fill `least` seconds (one at least)."""

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    calls, start = 0, time.perf_counter()
    while calls == 0 or time.perf_counter() - start < least:
        step()
        sync()  # so the clock sees finished work, not queued work
        calls += 1
    return (time.perf_counter() - start) / calls


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3, help="alternating timed rounds; best kept")
    p.add_argument("--least", type=float, default=0.5, help="seconds a timed round lasts at least")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument(
        "--batch-sizes", type=int, nargs="+", default=[BATCH_SIZE], help="predict batch sizes"
    )
    p.add_argument(
        "--windows", type=int, default=None, help="windows per call (default: one batch)"
    )
    p.add_argument("--models", nargs="+", default=sorted(MODELS), choices=sorted(MODELS))
    p.add_argument("--sizes", nargs="+", default=["demo", "seed"], choices=["demo", "seed"])
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = device_for_training()

    with tempfile.TemporaryDirectory() as tmp:
        demo_features = make_demo(Path(tmp), days=2).n_features
    sizes = {"demo": (True, demo_features), "seed": (False, SEED_FEATURES)}

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device={device} ({name}) torch threads={torch.get_num_threads()} {torch.__version__}")
    print()
    print("| model | size | F | L | predict B | predict windows/s | train windows/s | ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for model in args.models:
        for size in args.sizes:
            demo, n_features = sizes[size]
            run = run_config(model, demo=demo)
            spec = spec_for(n_features)
            train = train_step(run, spec, device)
            for batch_size in args.batch_sizes:
                per_symbol = (args.windows or batch_size) // spec.n_symbols
                data = bars(spec, run.seq_len - 1 + per_symbol)
                pred = predictor(run, spec, device, batch_size)
                windows = int(pred.predict_proba(data).predicted.sum())  # untimed first call
                train()
                call = partial(pred.predict_proba, data)
                best_predict = best_train = float("inf")
                for _ in range(args.rounds):
                    t = seconds_per_call(call, device, least=args.least)
                    best_predict = min(best_predict, t)
                    best_train = min(best_train, seconds_per_call(train, device, least=args.least))
                predicting = windows / best_predict
                training = run.train.batch_size / best_train
                print(
                    f"| {model} | {size} | {n_features} | {run.seq_len} | {batch_size} "
                    f"| {predicting:,.0f} | {training:,.0f} | {predicting / training:.1f}x |",
                    flush=True,
                )


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"\n{time.perf_counter() - start:.0f} s")
