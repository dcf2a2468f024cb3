"""Val and test macro-F1 of every finalized model and the reference, beside always predicting
the train majority class: the table of benchmarks/README.md "Against the reference".

    harness finalize --data DIR --out DIR/results
    harness predict --data DIR --split test --results DIR/results --out DIR/predict_test
    python benchmarks/out_of_sample.py DIR

The class of a row is the argmax of its exported probabilities (val: results/predictions/; test:
what `predict` wrote); F1 is scikit-learn's macro-F1 against the Phase 1 labels of the rows each
index file names. Also prints each system's predicted-class counts per horizon (short, neutral,
long) and the labels' own, to see a starved class.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from harness.data import load_phase1
from harness.modelfile import layout

SYSTEMS = ("nhits", "patchtst", "tft", layout.REFERENCE)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="the Phase 1 folder, with results/ and predict_test/")
    args = p.parse_args()
    data = load_phase1(args.data)
    frame, horizons = data.frame, data.horizons
    index = {
        "val": pd.read_parquet(args.data / "results/predictions/val_index.parquet"),
        "test": pd.read_parquet(args.data / "predict_test/test_index.parquet"),
    }
    np.testing.assert_array_equal(index["val"]["position"], data.val)
    probs = {
        "val": lambda m, h: args.data / "results" / layout.val_probs(m, h),
        "test": lambda m, h: args.data / f"predict_test/{m}_test_probs_{h}.npy",
    }
    print("| system | val macro-F1 h1 / h5 / h20 | test macro-F1 h1 / h5 / h20 |")
    print("|---|---|---|")
    counts = {}
    for model in SYSTEMS:
        cells, counts[model] = [], {}
        for split in ("val", "test"):
            rows = index[split]["position"].to_numpy()
            f1s = []
            for h in horizons:
                pred = np.load(probs[split](model, h)).argmax(axis=1)
                truth = frame[f"label_{h}"].to_numpy()[rows].astype(int) + 1
                f1s.append(f1_score(truth, pred, average="macro"))
                counts[model][f"{split} {h}"] = np.bincount(pred, minlength=3).tolist()
            cells.append(" / ".join(f"{f:.3f}" for f in f1s))
        name = model
        if model == layout.REFERENCE:
            metrics = json.loads((args.data / "results" / layout.metrics(model)).read_text())
            name = f"reference ({metrics.get('family', '?')})"
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    cells = []
    for split in ("val", "test"):
        rows = index[split]["position"].to_numpy()
        f1s = []
        for h in horizons:
            train = frame[f"label_{h}"].to_numpy()[data.train].astype(int) + 1
            truth = frame[f"label_{h}"].to_numpy()[rows].astype(int) + 1
            majority = np.full_like(truth, np.bincount(train).argmax())
            f1s.append(f1_score(truth, majority, average="macro"))
        cells.append(" / ".join(f"{f:.3f}" for f in f1s))
    print(f"| always the train majority class | {cells[0]} | {cells[1]} |")
    print("\npredicted classes (short, neutral, long):")
    for model, by in counts.items():
        print(f"  {model}: " + "; ".join(f"{k} {v}" for k, v in by.items()))
    for split in ("val", "test"):
        rows = index[split]["position"].to_numpy()
        labels = [
            np.bincount(frame[f"label_{h}"].to_numpy()[rows].astype(int) + 1, minlength=3)
            for h in horizons
        ]
        print(
            f"  labels {split}: "
            + "; ".join(f"{h} {c.tolist()}" for h, c in zip(horizons, labels, strict=True))
        )


if __name__ == "__main__":
    main()
