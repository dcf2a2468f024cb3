"""The documentation stays true to the repository: its relative links resolve, the README's command
table names real subcommands (all of them), the README stays short, and nothing points outside the
repository. Fast: reads files and builds the argument parser, trains nothing."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from harness.cli import _parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("**/*.md"))
PAGES = [README, *DOCS, ROOT / "benchmarks" / "README.md"]
README_MAX_LINES = 250
OUTSIDE = ("DESIGN.md", "PHASE2_SPEC.md")  # planning files that are not in the repository

LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def _prose(text: str) -> str:
    """The text without code blocks and code spans, where brackets are code, not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        slug, n = _slug(heading), 1
        while slug in found:  # a repeated heading gets -1, -2, ...
            slug = f"{_slug(heading)}-{n}"
            n += 1
        found.add(slug)
    return found


def _links(page: Path) -> list[str]:
    return LINK.findall(_prose(page.read_text(encoding="utf-8")))


def _relative(target: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I)  # http:, https:, mailto:, ...


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = _parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def _table_commands() -> list[str]:
    """The subcommand of each row of the README's command table (the first column's `harness X`)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Commands", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `harness ")]
    return [re.match(r"\| `harness ([\w-]+)", row).group(1) for row in rows]  # type: ignore[union-attr]


def test_pages_exist() -> None:
    assert README.is_file()
    assert (ROOT / "docs" / "contracts.md") in DOCS


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in _links(page):
        if not _relative(target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no file {resolved}")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}: no heading with the anchor #{anchor} in {resolved.name}")
    assert not broken, f"{page.relative_to(ROOT)}:\n" + "\n".join(broken)


def test_readme_links_into_docs() -> None:
    targets = {t.partition("#")[0] for t in _links(README) if _relative(t)}
    missing = [p for p in DOCS if str(p.relative_to(ROOT)) not in targets]
    assert not missing, f"README.md links to no {[str(p.relative_to(ROOT)) for p in missing]}"


def test_command_table_names_every_subcommand_once() -> None:
    named = _table_commands()
    known = _subcommands()
    assert named, "README.md: no command table rows (| `harness COMMAND ...` |) under ## Commands"
    unknown = [c for c in named if c not in known]
    assert not unknown, f"README.md's command table names {unknown}, not subcommands of harness"
    assert sorted(named) == sorted(set(named)), "a subcommand has more than one row"
    assert set(named) == set(known), f"not in README.md's command table: {set(known) - set(named)}"


def test_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines < README_MAX_LINES, f"README.md has {lines} lines; move detail into docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_outside_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    named = [name for name in OUTSIDE if name.lower() in text.lower()]
    assert not named, f"{page.relative_to(ROOT)} mentions {named}, which is not in the repository"
