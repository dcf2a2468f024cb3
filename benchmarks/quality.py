"""The harness against a plain baseline on real bars: best val macro-F1 per horizon, wall time.

    pip install backtesting
    python benchmarks/real_bars.py /tmp/real_bars
    # or bars the harness was not developed on (pip install arch): --source arch
    python benchmarks/quality.py --data /tmp/real_bars [--models patchtst nhits tft]
                                 [--seeds 0 1 2] [--trials 3] [--json out.json]
    # an ablation: the harness alone, with a change to its recipe
    python benchmarks/quality.py --data /tmp/real_bars --sides harness --models nhits \
                                 --set symbol_scaling=false --budget batches_per_epoch=8
    # saved runs together: their tables, and per model harness - baseline with its s.e.
    python benchmarks/quality.py table --rows out.json [more.json ...]

Both sides train the same size: the harness's `cpu` profile with its sizes fixed (`fixed:`, the
cpu section's over the top level's), and sample the same ranges of learning_rate, dropout and
batch_size, T trials (3) per study, the same median pruner. For each model and seed two
commands run one after the other, each timed whole (imports and data loading included):

(a) the baseline, this file's `baseline` command: the simplest honest PyTorch + Optuna loop.
    One study per horizon, one single-horizon model per trial, plain cross-entropy, per-symbol
    z-scored features (fit on each symbol's train rows), `EPOCHS` full passes over the train
    windows, val macro-F1 after each, a trial's value its best epoch's F1. Its models are
    hand-written stand-ins of each family: PatchTST-style (channel-independent patches, a
    transformer encoder, the paper's flatten-linear head), N-HiTS-style (three stacks, each an
    MLP on the window max-pooled at its rate, logits summed), TFT-style (an LSTM whose last
    step attends to the window).
(b) `harness search --model M --trials T --seed S --profile cpu` into a fresh SQLite study: one
    multi-horizon model per trial, its default recipe. Its best val macro-F1 at horizon h is
    the largest `val_macro_f1_h{h}` of its complete trials, each taken at the trial's
    best-score epoch (the epoch whose weights the trial keeps).

Paired: with both sides, the harness runs first and the baseline's trial k of every horizon
trains the learning rate, dropout and batch size that the harness's trial k drew (`--drawn`), so
a seed's difference is the recipes' and not the luck of 3 draws (one seed's three draws can all
be poor: 8.8e-3, 3.7e-3 and 1e-5). `--sides baseline` alone draws its own.

Both read the same Phase 1 files and splits; neither sees a test row.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch
import torch.nn.functional as F
import yaml
from sklearn.metrics import f1_score
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 5  # the baseline's full passes over the train windows per trial
MODELS = ("patchtst", "nhits", "tft")
SEARCHED = ("learning_rate", "dropout", "batch_size")  # what both sides sample


def equal_space(model: str) -> dict:
    """The harness's cpu profile with its sizes fixed: its `fixed:` values (the cpu section's
    over the top level's) and, sampled, only SEARCHED at the cpu profile's ranges. Both sides
    train this size and sample these ranges."""
    space = yaml.safe_load((ROOT / "search_spaces" / f"{model}.yaml").read_text())
    cpu = space.get("profiles", {}).get("cpu", {})
    params = {**space["params"], **cpu.get("params", {})}
    return {
        "model": model,
        "fixed": {**space["fixed"], **cpu.get("fixed", {})},
        "params": {k: params[k] for k in SEARCHED},
    }


# ---- (a) the baseline ---------------------------------------------------------------------


def load(data: Path) -> dict[str, Any]:
    """Features z-scored per symbol on its train rows, labels 0..2 [N, H], symbol codes, splits,
    and the H horizons: the data's label_{h} columns, h ascending, as the harness reads them."""
    import pandas as pd

    from harness.data.contract import label_horizons

    files = sorted((data / "data" / "final").glob("*_final_labeled.parquet"))
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    split = {
        s: np.load(data / "config" / "splits" / f"{s}_indices.npy").astype(np.int64)
        for s in ("train", "val")
    }
    features = [c for c in frame.columns if c.startswith("feature_")]
    x = frame[features].to_numpy(np.float32, copy=True)
    symbol = pd.factorize(frame["symbol"])[0]
    is_train = np.zeros(len(frame), dtype=bool)
    is_train[split["train"]] = True
    for s in np.unique(symbol):
        own = symbol == s
        fit = x[own & is_train]
        x[own] = (x[own] - fit.mean(0)) / (fit.std(0) + 1e-8)
    horizons = label_horizons(frame)
    y = np.stack([frame[f"label_{h}"].to_numpy() + 1 for h in horizons], 1).astype(np.int64)
    return {"x": x, "y": y, "symbol": symbol, "horizons": horizons, **split}


def windows(d: dict[str, np.ndarray], rows: np.ndarray, seq_len: int, k: int):
    """[N, L, F] windows ending at each row (row included) inside its symbol, horizon k's
    labels [N], symbol ids [N], and the N rows that had a full window."""
    start = rows - seq_len + 1
    rows = rows[(start >= 0) & (d["symbol"][np.maximum(start, 0)] == d["symbol"][rows])]
    idx = rows[:, None] - np.arange(seq_len)[::-1]
    x, y = torch.from_numpy(d["x"][idx]), torch.from_numpy(d["y"][rows, k])
    return x, y, torch.from_numpy(d["symbol"][rows]).long(), rows


def first_half(d: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Whether each of `rows` is in the earlier half of its symbol's val rows: the half a
    held-out check chooses on (the later half is the one it measures on)."""
    out = np.zeros(len(rows), dtype=bool)
    for s in np.unique(d["symbol"][d["val"]]):
        own = np.sort(d["val"][d["symbol"][d["val"]] == s])
        out |= np.isin(rows, own[: len(own) // 2])
    return out


def held_out(preds: list[np.ndarray], y: np.ndarray, early: np.ndarray) -> float:
    """Macro-F1 on the later half of the predictions [N] that score best on the earlier one."""
    chosen = max(preds, key=lambda p: f1_score(y[early], p[early], average="macro"))
    return float(f1_score(y[~early], chosen[~early], average="macro"))


class PatchTST(nn.Module):
    """Channel-independent: each feature's patches pass one shared transformer encoder; a
    flatten-linear head reads every channel's every patch (the paper's classification head)."""

    def __init__(self, c: dict, n_features: int, n_symbols: int, dropout: float):
        super().__init__()
        self.patch, self.stride = c["patch_len"], c["stride"]
        n, d = (c["seq_len"] - self.patch) // self.stride + 1, c["d_model"]
        self.embed = nn.Linear(self.patch, d)
        self.pos = nn.Parameter(torch.zeros(n, d))
        layer = nn.TransformerEncoderLayer(d, c["n_heads"], c["d_ff"], dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, c["n_layers"], enable_nested_tensor=False)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(n_features * n * d, 3))

    def forward(self, x: torch.Tensor, symbol: torch.Tensor) -> torch.Tensor:  # [B, L, F]
        p = x.transpose(1, 2).unfold(2, self.patch, self.stride)  # [B, F, patches, patch]
        z = self.encoder(self.embed(p.flatten(0, 1)) + self.pos)  # [B * F, patches, d]
        return self.head(z.reshape(len(x), -1))


class NHiTS(nn.Module):
    """N-HiTS' multi-rate stacks as classifiers: per stack, max-pool the window at the
    stack's rate, an MLP; the stacks' logits add up."""

    def __init__(self, c: dict, n_features: int, n_symbols: int, dropout: float):
        super().__init__()
        units = c["mlp_units"]
        self.pools = nn.ModuleList(nn.MaxPool1d(k) for k in (2, 2, 1))  # the `seed` preset
        self.stacks = nn.ModuleList()
        for k in (2, 2, 1):
            layers: list[nn.Module] = [nn.Flatten()]
            width = (c["seq_len"] // k) * n_features
            for _ in range(c["mlp_layers"]):
                layers += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(dropout)]
                width = units
            self.stacks.append(nn.Sequential(*layers, nn.Linear(units, 3)))

    def forward(self, x: torch.Tensor, symbol: torch.Tensor) -> torch.Tensor:
        x = x.transpose(1, 2)  # [B, F, L]
        return sum(stack(pool(x)) for pool, stack in zip(self.pools, self.stacks, strict=True))


class TFT(nn.Module):
    """pytorch-forecasting's TFT parts as the harness assembles them (``harness.models.tft``), for
    one horizon, without its per-symbol scaler (the features come in scaled per symbol). TFT is
    its variable selection and gated residual networks: a hand-written LSTM and attention
    without them had a sixth of the parameters and cost a sixteenth a batch, not equal size."""

    def __init__(self, c: dict, n_features: int, n_symbols: int, dropout: float):
        super().__init__()
        from harness.data.spec import DataSpec
        from harness.models import MODELS, model_config

        sizes = ("seq_len", "hidden_size", "lstm_layers", "n_heads", "hidden_continuous_size")
        config = {**{k: c[k] for k in sizes}, "dropout": dropout, "symbol_scaling": False}
        features = tuple(f"f{i}" for i in range(n_features))
        symbols = tuple(f"s{i}" for i in range(n_symbols))
        self.net = MODELS["tft"].build(
            model_config("tft", config), DataSpec(features, (0,), symbols)
        )

    def forward(self, x: torch.Tensor, symbol: torch.Tensor) -> torch.Tensor:
        return self.net(x, symbol)["logits_0"]


NETS = {"patchtst": PatchTST, "nhits": NHiTS, "tft": TFT}


def suggest(trial: optuna.Trial, name: str, d: dict):
    if d["type"] == "categorical":
        return trial.suggest_categorical(name, d["choices"])
    return trial.suggest_float(
        name, d["low"], d["high"], log=d.get("log", False), step=d.get("step")
    )


def baseline_trial(
    trial: optuna.Trial, d: dict, model: str, k: int, record: list[np.ndarray]
) -> float:
    """One trial; every epoch's val predictions go to `record`."""
    space = equal_space(model)
    p = {name: suggest(trial, name, dist) for name, dist in space["params"].items()}
    c = space["fixed"]
    xt, yt, st, _ = windows(d, d["train"], c["seq_len"], k)
    xv, yv, sv, _ = windows(d, d["val"], c["seq_len"], k)
    net = NETS[model](c, xt.shape[2], int(d["symbol"].max()) + 1, p["dropout"])
    opt = torch.optim.Adam(net.parameters(), lr=p["learning_rate"])
    best = 0.0
    for epoch in range(EPOCHS):
        net.train()
        for idx in torch.randperm(len(xt)).split(p["batch_size"]):
            opt.zero_grad()
            F.cross_entropy(net(xt[idx], st[idx]), yt[idx]).backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            pred = torch.cat(
                [net(xv[i : i + 1024], sv[i : i + 1024]).argmax(1) for i in range(0, len(xv), 1024)]
            )
        record.append(pred.numpy())
        f1 = f1_score(yv.numpy(), pred.numpy(), average="macro")
        best = max(best, f1)
        trial.report(f1, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return best


def baseline(
    data: Path, model: str, seed: int, trials: int, drawn: list[dict] | None = None
) -> dict[str, Any]:
    """Best val macro-F1 per horizon (one study of `trials` single-horizon trials each), and
    the held-out F1 of the (trial, epoch) that the earlier half of val chooses. `drawn`: the
    values its trials train first, in order (the harness's, for a paired comparison)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    d = load(data)
    best, later = {}, {}
    for k, h in enumerate(d["horizons"]):
        record: list[np.ndarray] = []
        torch.manual_seed(seed * 100 + k)
        study = optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=3),  # the harness's
        )
        for values in drawn or []:
            study.enqueue_trial(values)
        study.optimize(
            lambda t, k=k, record=record: baseline_trial(t, d, model, k, record), n_trials=trials
        )
        best[h] = study.best_value
        _, y, _, rows = windows(d, d["val"], equal_space(model)["fixed"]["seq_len"], k)
        later[h] = held_out(record, y.numpy(), first_half(d, rows))
    # one sampler seed, so every horizon's study drew what the last one did
    return {"drawn": [t.params for t in study.trials], "f1": best, "held_out": later}


# ---- (b) the harness, and the comparison ----------------------------------------------------


def harness_best(storage: str, data: Path, artifacts: Path) -> dict[str, Any]:
    """The values each trial drew, in trial order; and per horizon: the largest val macro-F1
    of the study's complete trials (each at its best-score epoch); the val macro-F1 of the trial
    the score selects (finalize's); the largest val macro-F1 at any epoch of those trials (from
    their epoch logs: what keeping any epoch, as the baseline's figure does, would reach); and
    the held-out F1 of the trial the earlier half of val chooses, from the trials' stored val
    classes (the best-score epoch's)."""
    from harness.storage.artifacts import load_epoch_log, load_val_predictions

    (summary,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    done = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    d = load(data)
    horizons = d["horizons"]
    classes = [
        load_val_predictions(t, artifacts, rows=len(d["val"]), horizons=len(horizons)) for t in done
    ]
    later = {}
    for k, h in enumerate(horizons):
        stored = [c[:, k] for c in classes if c is not None]
        made = np.all([p >= 0 for p in stored], axis=0)  # rows every trial predicted
        y = d["y"][d["val"], k][made]
        later[h] = held_out([p[made] for p in stored], y, first_half(d, d["val"][made]))
    epochs = [e["val"] for t in done for e in load_epoch_log(t, artifacts) or []]
    return {
        "drawn": [
            {k: t.params[k] for k in SEARCHED if k in t.params} for t in study.trials
        ],  # in trial order
        "f1": {h: max(t.user_attrs[f"val_macro_f1_h{h}"] for t in done) for h in horizons},
        "selected_f1": {h: study.best_trial.user_attrs[f"val_macro_f1_h{h}"] for h in horizons},
        "any_epoch": {
            h: max(
                [t.user_attrs[f"val_macro_f1_h{h}"] for t in done]
                + [e[str(h)]["macro_f1"] for e in epochs]
            )
            for h in horizons
        },
        "held_out": later,
    }


def by_horizon(side: dict) -> dict:
    """`side` with the keys of its per-horizon dicts made ints again (JSON made them strings)."""
    return {
        k: {int(h): f for h, f in v.items()} if isinstance(v, dict) else v for k, v in side.items()
    }


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=os.environ)
    wall = time.perf_counter() - start
    if out.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return wall, out.stdout


def run_baseline(
    data: Path, model: str, seed: int, trials: int, folder: Path, drawn: list[dict] | None
) -> dict:
    cmd = [sys.executable, __file__, "baseline", "--data", str(data), "--model", model]
    cmd += ["--seed", str(seed), "--trials", str(trials)]
    if drawn is not None:
        (folder / "drawn.json").write_text(json.dumps(drawn))
        cmd += ["--drawn", str(folder / "drawn.json")]
    wall, out = timed(cmd, folder)
    found = json.loads(out.splitlines()[-1])
    return {"s": wall, **by_horizon(found)}


def run_harness(
    data: Path, model: str, seed: int, trials: int, folder: Path, changes: Changes
) -> dict:
    """`harness search` on the equal-size space, with `changes` to its `fixed:` values (an
    ablation's `--set`) and to the objective's cpu budget or score (`--budget`, `--score`)."""
    space = equal_space(model)
    space["fixed"].update(changes.fixed)
    objective = yaml.safe_load((ROOT / "objectives" / f"{model}.yaml").read_text())
    objective["profiles"]["cpu"]["budget"].update(changes.budget)
    objective["score"].update(changes.score)
    files = {"space": space, "objective": objective}
    for name, content in files.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(content, sort_keys=False))
    storage = f"sqlite:///{folder}/study.db"
    cmd = [sys.executable, "-m", "harness", "search", "--model", model, "--trials", str(trials)]
    cmd += ["--seed", str(seed), "--profile", "cpu", "--data", str(data), "--storage", storage]
    cmd += ["--space", str(folder / "space.yaml"), "--objective", str(folder / "objective.yaml")]
    wall, _ = timed(cmd, folder)
    return {"s": wall, **harness_best(storage, data, folder / "artifacts")}


@dataclass(frozen=True)
class Changes:
    fixed: dict = field(default_factory=dict)
    budget: dict = field(default_factory=dict)
    score: dict = field(default_factory=dict)


def compare(data: Path, model: str, seed: int, trials: int, sides: list[str], changes: Changes):
    """One seed of each side. With both, paired: the harness runs first and the baseline's
    trial k of every horizon trains the values the harness's trial k drew, so a difference is
    the recipes' and not the luck of 3 draws of the learning rate."""
    row: dict = {"model": model, "seed": seed}
    for side in sorted(sides, reverse=True):  # harness, then baseline
        with tempfile.TemporaryDirectory() as tmp:
            if side == "baseline":
                drawn = row["harness"]["drawn"] if "harness" in row else None
                row[side] = run_baseline(data, model, seed, trials, Path(tmp), drawn)
            else:
                row[side] = run_harness(data, model, seed, trials, Path(tmp), changes)
    return row


def table(rows: list[dict], sides: list[str], key: str = "f1") -> str:
    """One line per run, a mean line per model (F1 per horizon and seconds, side by side);
    `key`: "f1" (the best val F1s) or "held_out" (chosen on the earlier half of val, measured
    on the later). The horizons are those the rows hold: their data's."""
    horizons = sorted(rows[0][sides[0]][key])
    names = " / ".join(f"h{h}" for h in horizons)
    head = "| model | seed |" + "".join(f" {side} F1 {names} | s |" for side in sides)
    lines = [head, "|---|---|" + "---|---|" * len(sides)]

    def cells(f1: dict, s: float, bold: str = "") -> str:
        return f" {bold}{' / '.join(f'{f1[h]:.3f}' for h in horizons)}{bold} | {s:.0f} |"

    for model in dict.fromkeys(r["model"] for r in rows):
        own = [r for r in rows if r["model"] == model]
        for r in own:
            lines.append(
                f"| {model} | {r['seed']} |" + "".join(cells(r[x][key], r[x]["s"]) for x in sides)
            )
        means = ""
        for x in sides:
            f1 = {h: float(np.mean([r[x][key][h] for r in own])) for h in horizons}
            means += cells(f1, float(np.mean([r[x]["s"] for r in own])), bold="**")
        lines.append(f"| **{model}** | mean |" + means)
    return "\n".join(lines)


def difference(rows: list[dict], key: str = "f1", baseline_key: str | None = None) -> str:
    """Per model, harness minus baseline at each horizon: the mean over seeds and its standard
    error (a gap within about two standard errors is not told apart from seed-to-seed noise),
    and the harness's wall time as a share of the baseline's. The harness's figure is `key`,
    the baseline's `baseline_key` (the same unless given)."""
    horizons = sorted(rows[0]["harness"][key])
    names = " / ".join(f"h{h}" for h in horizons)
    lines = [f"| model | harness - baseline, {names} (mean +- s.e.) | time |", "|---|---|---:|"]
    for model in dict.fromkeys(r["model"] for r in rows):
        own = [r for r in rows if r["model"] == model]
        cells = []
        for h in horizons:
            d = np.array(
                [r["harness"][key][h] - r["baseline"][baseline_key or key][h] for r in own]
            )
            se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
            cells.append(f"{d.mean():+.3f} +- {se:.3f}")
        share = sum(r["harness"]["s"] for r in own) / sum(r["baseline"]["s"] for r in own)
        lines.append(f"| {model} | {' / '.join(cells)} | {share:.0%} |")
    return "\n".join(lines)


def report(rows: list[dict], sides: list[str]) -> str:
    """The tables of `rows`: best val F1, held-out F1, and with both sides their differences."""
    held = "held out (chosen on the earlier half of each symbol's val rows, measured on the later):"
    parts = [table(rows, sides), held, table(rows, sides, "held_out")]
    if {"baseline", "harness"} <= set(sides):
        parts += ["best val F1, harness - baseline:", difference(rows)]
        parts += ["held out, harness - baseline:", difference(rows, "held_out")]
        having = [r for r in rows if "any_epoch" in r["harness"]]  # not in rows saved before
        if having:
            anywhere = "the harness at any epoch of its trials (as the baseline's F1 is taken), "
            parts += [anywhere + "harness - baseline:", difference(having, "any_epoch", "f1")]
    return "\n\n".join(parts)


def merged(rows: list[dict]) -> list[dict]:
    """Rows of one model and seed as one row, in order of first appearance; a later row's sides
    replace an earlier one's (a harness-only rerun against a saved baseline of the same draws)."""
    out: dict[tuple[str, int], dict] = {}
    for r in rows:
        out.setdefault((r["model"], r["seed"]), {}).update(r)
    for r in out.values():
        drawn = [r[x]["drawn"] for x in ("baseline", "harness") if "drawn" in r.get(x, {})]
        if len(drawn) == 2 and drawn[0] != drawn[1]:
            raise SystemExit(f"{r['model']} seed {r['seed']}: the two sides drew other values")
    return list(out.values())


def pairs(items: list[str]) -> dict:
    """KEY=VALUE strings, each VALUE read as YAML (so 1.0e-3 is a float, true a bool)."""
    return {k: yaml.safe_load(v) for k, _, v in (item.partition("=") for item in items)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "command", nargs="?", choices=["compare", "baseline", "table"], default="compare"
    )
    p.add_argument("--data", type=Path, help="a Phase 1 folder (real bars)")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--sides", nargs="+", help="baseline, harness (table: those the rows hold)")
    p.add_argument("--set", nargs="*", default=[], help="ablation: the harness's fixed KEY=VALUE")
    p.add_argument("--budget", nargs="*", default=[], help="ablation: its cpu budget KEY=VALUE")
    p.add_argument("--score", nargs="*", default=[], help="ablation: its score KEY=VALUE")
    p.add_argument("--json", type=Path, help="also write the rows here")
    p.add_argument("--rows", nargs="*", type=Path, default=[], help="table: saved --json files")
    p.add_argument("--model", choices=MODELS, help=argparse.SUPPRESS)  # the baseline command's
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--drawn", type=Path, help=argparse.SUPPRESS)  # its trials' values (JSON)
    args = p.parse_args()
    if args.command == "table":  # rows saved by earlier runs, side by side
        saved = merged([r for path in args.rows for r in json.loads(path.read_text())])
        sides = args.sides or [x for x in ("baseline", "harness") if all(x in r for r in saved)]
        for r in saved:
            for x in sides:
                r[x] = by_horizon(r[x])
        print(report(saved, sides))
        return
    if args.data is None:
        p.error("--data is required")
    data = args.data.resolve()
    if args.command == "baseline":
        drawn = json.loads(args.drawn.read_text()) if args.drawn else None
        print(json.dumps(baseline(data, args.model, args.seed, args.trials, drawn)))
        return
    changes = Changes(pairs(args.set), pairs(args.budget), pairs(args.score))
    sides = args.sides or ["baseline", "harness"]
    rows = []
    for model in args.models:
        for seed in args.seeds:
            rows.append(compare(data, model, seed, args.trials, sides, changes))
            print(json.dumps(rows[-1]), flush=True)
            if args.json:
                args.json.write_text(json.dumps(rows, indent=1))
    print(report(rows, sides))


if __name__ == "__main__":
    main()
