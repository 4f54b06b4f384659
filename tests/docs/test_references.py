"""The repository speaks for itself: no docs page, README, comment or docstring points at a
file outside it (the notes beside a checkout are not shipped with it) or at an issue
number (an issue tracker is not the documentation), and the README's links resolve."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SKIPPED_DIRS = {
    ".git", ".venv", ".hub", "site", "node_modules", "vendor", "__pycache__",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "build", "results",
}  # fmt: skip
"""Generated, vendored or local: not ours to word (bench/results holds measured output)."""

TEXT_SUFFIXES = {".py", ".md", ".html", ".graphql", ".toml", ".yml", ".yaml", ".mjs", ".cfg", ".txt", ".sh"}  # fmt: skip
TEXT_NAMES = {"Makefile", "run"}

ISSUE = re.compile(r"\bissues?\s+#?\d+", re.IGNORECASE)
OUTSIDE = re.compile(
    r"\.\./shared\b|(?<![\w.-])shared/[A-Za-z]"
    r"|(?<![\w/-])(?:DOMAIN|NATIONAL-INTERFACE|STACK-NOTES|STYLE)\.md"
)


def text_files() -> Iterator[Path]:
    for directory, subdirectories, names in os.walk(ROOT):
        subdirectories[:] = sorted(d for d in subdirectories if d not in SKIPPED_DIRS)
        for name in sorted(names):
            path = Path(directory, name)
            if path.suffix in TEXT_SUFFIXES or name in TEXT_NAMES:
                yield path


def offending(pattern: re.Pattern[str]) -> list[str]:
    found = []
    for path in text_files():
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_scans_the_repository() -> None:
    """The walk reaches what it must guard (else the other tests pass vacuously)."""
    seen = {str(path.relative_to(ROOT)) for path in text_files()}
    assert {"README.md", "mkdocs.yml", "docs/index.md", "hub/app.py", "Makefile"} <= seen


def test_no_issue_numbers() -> None:
    assert offending(ISSUE) == []


def test_no_files_outside_the_repository() -> None:
    assert offending(OUTSIDE) == []


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        ("as issue 15 says", ISSUE),
        ("(issues 6 and 7)", ISSUE),
        ("see `shared/NATIONAL-INTERFACE.md`", OUTSIDE),
        ("see ../shared/seeds/000_x.txt", OUTSIDE),
        ("the questions of DOMAIN.md", OUTSIDE),
    ],
)
def test_the_patterns_catch(line: str, pattern: re.Pattern[str]) -> None:
    assert pattern.search(line)


@pytest.mark.parametrize(
    "line",
    ["a shared secret", "shared by every replica", "colour #333", "print('issued 3 tokens')"],
)
def test_the_patterns_spare(line: str) -> None:
    assert not OUTSIDE.search(line)
    assert not ISSUE.search(line)


def test_readme_links_resolve() -> None:
    """Its relative links name files of the repository (mkdocs checks the site's own)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert local, "the README links into the documentation"
    assert [t for t in local if not (ROOT / t).is_file()] == []


def test_paths_named_in_the_documentation_exist() -> None:
    """A file or folder of the repository named in README or docs (`graph/gates.py`,
    `tests/e2e/`) is still there: moved code leaves no stale pointer behind."""
    top = {e.name for e in ROOT.iterdir() if e.is_dir() and e.name[0] != "." and e.name != "site"}
    named = re.compile(r"`([\w.-]+/[\w./-]*)`")
    missing = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for path in named.findall(page.read_text(encoding="utf-8")):
            if path.split("/")[0] in top and not (ROOT / path).exists():
                missing.append(f"{page.relative_to(ROOT)}: {path}")
    assert missing == []
