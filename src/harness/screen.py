"""Lines for a terminal: wrapped between words, never inside one; plain lines elsewhere."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from harness.data.summary import DataSummary

INDENT = "  "  # continuation lines of a wrapped line


def fit(text: str, width: int) -> list[str]:
    """`text` as lines of at most `width` columns, cut only at spaces; a word longer than the
    width (a study name, a path) keeps a line of its own, whole. Rich's own wrapping cannot
    do this: it either folds a long word or crops the line, so textwrap does it."""
    lines: list[str] = []
    for line in text.splitlines() or [""]:
        lead = line[: len(line) - len(line.lstrip(" "))]
        lines += textwrap.wrap(
            line,
            width,
            subsequent_indent=lead + INDENT,
            break_long_words=False,
            break_on_hyphens=False,  # "nhits-cpu-1a2b3c4d" is one name
        ) or [""]
    return lines


def show(console: Console, text: str) -> None:
    """Print `text`: fitted to the width on a terminal; as it is (one line per line, no
    control codes) in a file or a pipe, where nothing wraps it."""
    out = "\n".join(fit(text, console.width)) if console.is_terminal else text
    console.print(out, highlight=False, soft_wrap=True)


def duration(seconds: float) -> str:
    """A time span as a person reads it: "8.5 s", "42 s", "12 min", "3.4 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def print_summary(console: Console, s: DataSummary) -> None:
    """What `harness check-data` prints of a dataset: rows per symbol and split, what backtests
    see per symbol, label shares."""
    console.print(
        Text(str(s.root), style="bold"),
        f": {s.n_rows} rows, {s.n_features} features, horizons {', '.join(map(str, s.horizons))}",
        sep="",
        highlight=False,
        soft_wrap=True,
    )
    table = Table(
        "symbol",
        "rows",
        "first",
        "last",
        "train",
        "val",
        "test",
        "bars train→val",
        "bars val→test",
        title="rows per symbol and split",
    )
    for row in s.symbols:
        table.add_row(
            row.symbol,
            str(row.rows),
            row.first,
            row.last,
            *(str(row.split_rows[k]) for k in ("train", "val", "test")),
            str(row.bars_train_to_val),
            str(row.bars_val_to_test),
        )
    console.print(table)
    splits = ("train", "val", "test")
    scoring = Table(
        "symbol",
        "bars/year",
        "holes train/val/test",
        "rows skipped train/val/test",
        title="what backtests see per symbol",
    )
    for row in s.symbols:
        scoring.add_row(
            row.symbol,
            "-" if row.bars_per_year is None else f"{row.bars_per_year:,.0f}",
            "/".join(str(row.holes[k]) for k in splits),
            "/".join(str(row.skipped_rows[k]) for k in splits),
        )
    console.print(scoring)
    show(
        console,
        "bars/year: from the symbol's train and val timestamps only; it annualizes the symbol's "
        "Sharpe ratios. holes: places where a split skips rows of the symbol (skipped: the rows "
        "skipped there); no backtest holds a position across one.",
    )
    labels = Table("horizon", "split", "-1", "0", "+1", title="label shares")
    for h, by_split in s.label_shares.items():
        for split, shares in by_split.items():
            labels.add_row(str(h), split, *(f"{v:.1%}" for v in shares))
    console.print(labels)
    if s.n_purged:
        console.print(f"{s.n_purged} train rows purged (labels reaching into val).")
