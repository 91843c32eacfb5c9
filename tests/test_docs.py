"""The repository explains itself: nothing points outside it, and what it cites exists in it.

Three checks over the files git tracks: no file mentions a path under the workspace's
``shared`` directory (which is not part of the repository); every rule id ``R<n>`` cited
anywhere is defined in docs/evaluation.md; every relative link of the README and of docs/
names a file that exists. Each check is a function of the texts it reads, so the tests below
also show it catching a planted fault.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
RULES_PAGE = "docs/evaluation.md"
#: spelled in two parts so that this file does not mention the path it looks for
OUTSIDE = "shared" + "/"
_RULE = re.compile(r"\bR(\d+)\b")
_RULE_RANGE = re.compile(r"\bR(\d+)\s*-\s*R(\d+)\b")
#: a rule is defined by a level-3 heading that starts with its id: ``### R14 — Resource ...``
_RULE_HEADING = re.compile(r"^### R(\d+) — \S", re.MULTILINE)
_NOTE = re.compile(r"§13-A(\d+)\b")
#: an ambiguity note is defined by a list item of §13 that starts with its bold id
_NOTE_ITEM = re.compile(r"^- \*\*A(\d+) \S", re.MULTILINE)
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)
_EXTERNAL = ("http://", "https://", "mailto:")


def tracked_texts() -> dict[str, str]:
    """Every file git tracks that reads as UTF-8 text, by its path in the repository."""
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPOSITORY, capture_output=True, check=True
    ).stdout
    texts: dict[str, str] = {}
    for name in listing.decode().split("\0"):
        path = REPOSITORY / name
        if not name or not path.is_file():
            continue
        raw = path.read_bytes()
        if b"\0" in raw:
            continue
        try:
            texts[name] = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return texts


def outside_pointers(texts: Mapping[str, str]) -> list[str]:
    """``file:line`` of every line that mentions a path under the shared directory."""
    return [
        f"{name}:{number}"
        for name, text in texts.items()
        for number, line in enumerate(text.splitlines(), 1)
        if OUTSIDE in line
    ]


def cited_rules(text: str) -> set[int]:
    """The rule numbers a text cites; a range ``R24-R35`` cites every rule in it."""
    cited = {int(number) for number in _RULE.findall(text)}
    for first, last in _RULE_RANGE.findall(text):
        cited.update(range(int(first), int(last) + 1))
    return cited


def defined_rules(page: str) -> list[int]:
    """The rule numbers the rules page defines, once per heading (duplicates kept)."""
    return [int(number) for number in _RULE_HEADING.findall(page)]


def undefined_rules(texts: Mapping[str, str], page: str) -> dict[str, list[str]]:
    """Each cited rule id the page does not define, with the files that cite it."""
    defined = set(defined_rules(page))
    missing: dict[str, list[str]] = {}
    for name, text in texts.items():
        for number in sorted(cited_rules(text) - defined):
            missing.setdefault(f"R{number}", []).append(name)
    return missing


def undefined_notes(texts: Mapping[str, str], page: str) -> dict[str, list[str]]:
    """Each cited ambiguity note ``§13-A<n>`` the page does not define, with its citers."""
    defined = {int(number) for number in _NOTE_ITEM.findall(page)}
    missing: dict[str, list[str]] = {}
    for name, text in texts.items():
        for number in sorted({int(n) for n in _NOTE.findall(text)} - defined):
            missing.setdefault(f"§13-A{number}", []).append(name)
    return missing


def relative_links(text: str) -> list[str]:
    """The targets of a Markdown text's links that are not external (``#x`` is this text's)."""
    return [target for target in _LINK.findall(text) if not target.startswith(_EXTERNAL)]


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a Markdown text's headings (lower case, punctuation dropped)."""
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in _HEADING.findall(markdown)
    }


def broken_links(documents: Iterable[tuple[str, str]], root: Path) -> list[str]:
    """``file -> target`` for each relative link whose file does not exist under ``root``, or
    whose ``#anchor`` names no heading of the Markdown file it points to."""
    root = root.resolve()
    broken = []
    for name, text in documents:
        folder = (root / name).parent
        for target in relative_links(text):
            file_part, _, anchor = target.partition("#")
            path = (folder / file_part).resolve() if file_part else root / name
            if not _resolves(path, anchor, root):
                broken.append(f"{name} -> {target}")
    return broken


def _resolves(path: Path, anchor: str, root: Path) -> bool:
    """Whether ``path`` is a file under ``root`` and, in Markdown, has a heading for ``anchor``."""
    if not path.is_relative_to(root) or not path.exists():
        return False
    return not anchor or path.suffix != ".md" or anchor in anchors(path.read_text())


def _documents(texts: Mapping[str, str]) -> list[tuple[str, str]]:
    return [
        (name, text)
        for name, text in texts.items()
        if name == "README.md" or (name.startswith("docs/") and name.endswith(".md"))
    ]


def test_no_file_points_outside_the_repository() -> None:
    """No tracked file mentions a path under the shared directory beside the repository."""
    assert outside_pointers(tracked_texts()) == []


def test_every_cited_rule_is_defined_once() -> None:
    """Every R<n> cited in a tracked file has exactly one heading in docs/evaluation.md."""
    texts = tracked_texts()
    page = texts[RULES_PAGE]
    definitions = defined_rules(page)
    assert len(definitions) == len(set(definitions)), "a rule heading is repeated"
    assert sorted(definitions) == list(range(1, len(definitions) + 1)), "rule ids have gaps"
    assert undefined_rules(texts, page) == {}


def test_every_cited_ambiguity_note_is_defined() -> None:
    """Every §13-A<n> cited in a tracked file is an item of docs/evaluation.md §13."""
    texts = tracked_texts()
    assert undefined_notes(texts, texts[RULES_PAGE]) == {}


def test_every_relative_link_resolves() -> None:
    """Each relative link of README.md and docs/*.md names a file inside the repository (and,
    with an anchor, a heading of that file)."""
    documents = _documents(tracked_texts())
    assert {name for name, _ in documents} >= {
        "README.md",
        "docs/architecture.md",
        "docs/evaluation.md",
        "docs/evaluate-input.md",
    }
    assert broken_links(documents, REPOSITORY) == []


def test_readme_links_the_three_documents() -> None:
    """The README's links reach each page of docs/."""
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    targets = set(relative_links(readme))
    assert {"docs/architecture.md", "docs/evaluation.md", "docs/evaluate-input.md"} <= targets


def test_checks_catch_planted_faults(tmp_path: Path) -> None:
    """Each check reports a fault planted in otherwise clean input."""
    pointer = "see ../" + OUTSIDE + "notes.md"
    assert outside_pointers({"a.py": "x = 1\n" + pointer}) == ["a.py:2"]
    page = "### R1 — One\n### R2 — Two\n- **A1 Note.** text\n"
    assert undefined_rules({"a.py": "(R1, R2)"}, page) == {}
    assert undefined_rules({"a.py": "(R1-R3)", "b.md": "R7"}, page) == {
        "R3": ["a.py"],
        "R7": ["b.md"],
    }
    assert undefined_rules({"a.py": "R2"}, "R2 is mentioned but not a heading") == {"R2": ["a.py"]}
    assert undefined_notes({"a.py": "§13-A1 and §13-A2"}, page) == {"§13-A2": ["a.py"]}
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "here.md").write_text("# Here\n## R14 — The part's name\n")
    links = (
        "[ok](docs/here.md) [anchor](docs/here.md#r14--the-parts-name) "
        "[web](https://aws.amazon.com/x) [in page](#here) [gone](docs/gone.md) "
        "[no such heading](docs/here.md#there) [not on this page](#r14)"
    )
    (tmp_path / "README.md").write_text("# Here\n" + links)
    assert broken_links([("README.md", links)], tmp_path) == [
        "README.md -> docs/gone.md",
        "README.md -> docs/here.md#there",
        "README.md -> #r14",
    ]
    assert broken_links([("docs/here.md", "[up](../../outside.md)")], tmp_path) == [
        "docs/here.md -> ../../outside.md"
    ]
