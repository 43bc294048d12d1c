"""The repository stands alone (issue 17, part 5): its README and docs link only to files that
exist inside it, never to a place beside it (`../shared/SPEC.md` was one), and the parts of
the docs made from the code (`sagashop docs`) are current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from launcher import docs
from launcher.processes import ROOT

PAGES = sorted(
    {ROOT / "README.md", *(ROOT / "docs").glob("**/*.md"), *ROOT.glob("*/README.md")}
    - set(ROOT.glob(".*/README.md"))
)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# a path written out in the text that climbs out of where the page is: `../shared/SPEC.md`
CLIMB = re.compile(r"(?<![\w.])((?:\.\./)+[\w./-]*\w)")


def inside(page: Path, target: str) -> Path | None:
    """The file `target` names, if it is in the repository (else None)."""
    path = (page.parent / target.split("#", 1)[0]).resolve()
    return path if path.is_relative_to(ROOT.resolve()) else None


def broken_links(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    found = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor of this page
        path = inside(page, target)
        if path is None or not path.exists():
            found.append(target)
    for target in CLIMB.findall(text):
        path = inside(page, target)
        if path is None or not path.exists():
            found.append(target)
    return found


def test_the_pages_checked_include_the_readme_and_every_doc() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert {"README.md", "docs/architecture.md", "docs/operations.md"} <= names


@pytest.mark.parametrize("doc", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_page_links_only_to_files_inside_the_repository_that_exist(doc: Path) -> None:
    assert broken_links(doc) == []


def test_a_link_out_of_the_repository_or_to_a_missing_file_is_found() -> None:
    page = ROOT / "docs" / "example.md"  # never written: only its place matters
    assert inside(page, "../../shared/SPEC.md") is None
    assert inside(page, "operations.md") == (ROOT / "docs" / "operations.md").resolve()
    assert CLIMB.findall("See `../shared/SPEC.md` for what.") == ["../shared/SPEC.md"]
    assert LINK.findall("[spec](../../SPEC.md) ![x](pic.png)") == ["../../SPEC.md", "pic.png"]


@pytest.mark.parametrize("file", sorted({name for name, _ in docs.SECTIONS}))
def test_the_parts_of_the_docs_made_from_the_code_are_current(file: str) -> None:
    text = (docs.DOCS / file).read_text(encoding="utf-8")
    assert docs.current(file, text) == text, f"docs/{file} is stale: run `.venv/bin/sagashop docs`"


def test_the_topic_picture_names_every_topic_of_the_registry() -> None:
    from schemas import topics

    section = docs.topics_section()
    assert all(f"|{t.name}|" in section and f"`{t.name}`" in section for t in topics.ALL)
