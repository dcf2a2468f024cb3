"""Command line: parse, call the API, print. Nothing imports this module."""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.errors import HarnessError

console = Console()
errors = Console(stderr=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    # Library warnings (a purge, say) are for the user: one line, no source location.
    warnings.formatwarning = lambda message, category, *_a, **_k: f"warning: {message}\n"
    try:
        return args.run(args) or 0
    except HarnessError as exc:
        errors.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness", description="Phase 2 search harness: tune, finalize, export."
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("demo-data", help="write a synthetic Phase 1 dataset")
    p.add_argument("--out", type=Path, required=True, help="folder to write data/ and config/ into")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--days", type=int, default=None, help="trading days per symbol")
    p.set_defaults(run=_demo_data)

    p = sub.add_parser("check-data", help="validate a Phase 1 dataset and summarize it")
    _data_arg(p)
    p.set_defaults(run=_check_data)
    return parser


def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="folder laid out as Phase 1 leaves it (data/final, config/splits); default: the "
        "current folder, or the demo dataset when it holds no Phase 1 data",
    )


def _load(args: argparse.Namespace):
    from harness.data import load_dataset

    return load_dataset(args.data, say=lambda line: console.print(line, highlight=False))


def _demo_data(args: argparse.Namespace) -> int:
    from harness.data.demo import DEFAULT_DAYS, make_demo

    info = make_demo(args.out, seed=args.seed, days=args.days or DEFAULT_DAYS)
    console.print(f"wrote {info}", highlight=False)
    return 0


def _check_data(args: argparse.Namespace) -> int:
    data = _load(args)
    from harness.data.summary import summarize

    s = summarize(data)
    console.print(
        f"[bold]{s.root}[/]: {s.n_rows} rows, {s.n_features} features, horizons "
        f"{', '.join(map(str, s.horizons))}, {s.bars_per_year:,.0f} bars per year",
        highlight=False,
    )
    table = Table("symbol", "rows", "first", "last", "train", "val", "test", "gap train→val",
                  "gap val→test", title="rows per symbol and split")  # fmt: skip
    for row in s.symbols:
        table.add_row(
            row.symbol, str(row.rows), row.first, row.last,
            *(str(row.split_rows[k]) for k in ("train", "val", "test")),
            str(row.gap_train_val), str(row.gap_val_test),
        )  # fmt: skip
    console.print(table)
    labels = Table("horizon", "split", "-1", "0", "+1", title="label shares")
    for h, by_split in s.label_shares.items():
        for split, shares in by_split.items():
            labels.add_row(str(h), split, *(f"{v:.1%}" for v in shares))
    console.print(labels)
    if s.n_purged:
        console.print(f"{s.n_purged} train rows purged (labels reaching into val).")
    return 0
