"""The generated pages are current: the configuration reference is what the settings
declare and the command-line reference what `hub`'s parser takes (`make schema` rewrites
both), and no page names a setting the hub does not read."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import Counter
from prometheus_client.metrics import MetricWrapperBase

from auth.roles import ROLES
from hub import command_reference
from hub.cli import parser
from hub.demo import DEMO_GRANTS
from hub.settings import HubSettings
from hub.settings_reference import databases, reference
from kernel import metrics

ROOT = Path(__file__).resolve().parents[2]

EXAMPLES_OWN = {"HUB_URL"}
"""Variables an example script reads for itself (the national interface's uploader), not
settings of the hub."""


def test_configuration_reference_is_current() -> None:
    """`python -m hub.settings_reference > docs/configuration.md` (or `make schema`)."""
    published = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert published == reference()


@pytest.mark.parametrize("columns", ["60", "250"])
def test_command_line_reference_is_current(monkeypatch: pytest.MonkeyPatch, columns: str) -> None:
    """`python -m hub.command_reference > docs/command-line.md`, whatever the terminal's
    width (argparse wraps usage lines to it)."""
    monkeypatch.setenv("COLUMNS", columns)
    published = (ROOT / "docs" / "command-line.md").read_text(encoding="utf-8")
    assert published == command_reference.reference()


def test_every_documented_variable_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables the reference lists set the settings they name."""
    variables = re.findall(r"^\| `(HUB_[A-Z0-9_]+)` \|", reference(), re.MULTILINE)
    assert "HUB_LIMITS_MAX_DEPTH" in variables
    assert "HUB_MAX_DEPTH" not in variables
    monkeypatch.setenv("HUB_LIMITS_MAX_DEPTH", "7")
    monkeypatch.setenv("HUB_PAGES_MAXIMUM", "50")
    monkeypatch.setenv("HUB_AUDIT_ENABLED", "false")
    settings = HubSettings()
    assert (settings.limits.max_depth, settings.pages.maximum) == (7, 50)
    assert settings.audit.enabled is False


def test_no_page_names_a_setting_the_hub_does_not_read() -> None:
    """README and docs mention only variables of the reference (or the tests' own)."""
    known = set(re.findall(r"`(HUB_[A-Z0-9_]+)`", reference()))
    known |= {f"HUB_CONNECTOR_{name.upper()}_URL" for name in databases()}
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    unknown = set()
    named = 0
    for page in pages:
        for name in re.findall(r"\bHUB_[A-Z0-9_]*[A-Z0-9]\b", page.read_text(encoding="utf-8")):
            named += 1
            if name.startswith(("HUB_TEST_", "HUB_BENCH_")) or name in known | EXAMPLES_OWN:
                continue
            if any(other.startswith(name + "_") for other in known):
                continue  # a prefix: HUB_AUDIT_WITNESS_… or HUB_CONNECTOR_…
            unknown.add(f"{page.relative_to(ROOT)}: {name}")
    assert sorted(unknown) == []
    assert named >= 100, "the pages name hundreds of settings: the scan found too few"


def test_the_demo_clients_table_is_what_hub_seed_registers() -> None:
    """Each row of the tokens page's table: the client's agency, purposes and row limits."""
    page = (ROOT / "docs" / "tokens.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([\w-]+)` \| (.+?) \| (.+?) \| (.+?) \|$", page, re.MULTILINE)
    grants = {grant.client_id: grant for grant in DEMO_GRANTS}
    assert len(rows) >= 7
    for client, title, purposes, limits in rows:
        grant = grants[client]
        assert grant.title.startswith(title), client
        assert re.findall(r"`([\w-]+)`", purposes) == list(grant.purposes), client
        if limits == "—":
            assert not grant.limits, client
            continue
        kind, _, values = limits.partition(" ")
        assert {"court": "courts"}.get(kind, kind) in grant.limits, client
        assert tuple(values.split()) == grant.limits[{"court": "courts"}.get(kind, kind)], client


def test_the_desk_roles_table_is_what_the_roles_grant() -> None:
    """Each role's row on the web desk page lists exactly the role's scopes."""
    page = (ROOT / "docs" / "web-desk.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([\w-]+)` [^|]+\|[^|]+\| `([^`]+)`", page, re.MULTILINE))
    assert set(rows) == set(ROLES)
    for name, role in ROLES.items():
        assert rows[name].split() == list(role.scopes), name


PLACEHOLDER = re.compile(r"[…<>$\[\]]|\b[A-Z]+\b")
"""A command written with a placeholder (`<kid>`, `FILE`, `[--out FILE]`, `$a`) is a
pattern, not a command line."""


def _commands(text: str) -> Iterator[tuple[int, bool, str]]:
    """(line, in a shell block, command) for each `hub …` a page writes: each command of a
    ```sh block (continuations joined, comments dropped, split at `&&`, `;`, `|`) and each
    inline code span."""
    fence: str | None = None
    pending = ""
    for number, line in enumerate(text.splitlines(), 1):
        if opening := re.match(r"\s*`{3,}(\w*)", line):
            fence = None if fence is not None else opening.group(1)
            continue
        if fence == "sh":
            line = pending + line.strip()
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            pending = ""
            for part in re.split(r"&&|\|\||;|\|", re.sub(r"\s+#.*$", "", line)):
                yield number, True, part.strip()
        elif fence is None:
            for span in re.findall(r"`([^`]+)`", line):
                yield number, False, span.strip()


def _options_of(cli: argparse.ArgumentParser, words: list[str]) -> set[str] | None:
    """The options of the (sub)command `words` name, or None when they name none."""
    node = cli
    for word in words:
        commands = [a for a in node._actions if isinstance(a, argparse._SubParsersAction)]
        if not commands:
            break
        if word not in commands[0].choices:
            return None
        node = commands[0].choices[word]
    return {option for action in node._actions for option in action.option_strings}


def test_every_hub_command_in_the_docs_parses() -> None:
    """A `hub` command line in README or docs is one `hub` accepts: a renamed option or
    command fails here. A shell block's must parse whole; an inline mention may leave out
    required arguments, but each command word and option it names must exist."""
    cli = parser()
    wrong = []
    checked = {True: 0, False: 0}
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for number, in_block, command in _commands(page.read_text(encoding="utf-8")):
            found = re.match(r"(?:[A-Z_]+=\S+\s+)*(?:\S*/)?hub\s+(\S.*)$", command)
            if not found or PLACEHOLDER.search(found.group(1)):
                continue
            words = shlex.split(found.group(1))
            where = f"{page.relative_to(ROOT)}:{number}: {command}"
            checked[in_block] += 1
            if not in_block:
                leading = [w for w in words[:3] if not w.startswith("-")]
                options = _options_of(cli, leading[:2])
                unknown = [w.split("=")[0] for w in words if w.startswith("--")]
                if options is None or not set(unknown) <= options:
                    wrong.append(f"{where}: no such command or option")
                continue
            errors = io.StringIO()
            try:
                with contextlib.redirect_stderr(errors):
                    cli.parse_args(words)
            except SystemExit as exit:
                if exit.code:
                    wrong.append(f"{where}: {errors.getvalue().strip().splitlines()[-1]}")
    assert wrong == []
    # The pages hold dozens of each (39 and 112 when written): a parser that finds none
    # would pass the check above vacuously.
    assert checked[True] >= 20, checked
    assert checked[False] >= 50, checked


def _declared_metrics() -> dict[str, tuple[str, ...]]:
    """Each exposed name `kernel.metrics` declares (a counter's with `_total`) and its labels."""
    declared = {}
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            suffix = "_total" if isinstance(value, Counter) else ""
            declared[value._name + suffix] = tuple(value._labelnames)
    return declared


def test_the_metrics_table_is_what_the_hub_exposes() -> None:
    """docs/operations.md's metrics table names every metric `kernel/metrics.py` declares,
    no other, each with its labels (a label the table leaves out is one an operator
    cannot know to group by)."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    table = text.split("| metric | labels | what |", 1)[1].split("\n\n", 1)[0]
    documented = {}
    for row in table.splitlines()[2:]:
        names, labels = row.strip("|").split("|")[:2]
        for name in re.findall(r"`(hub_\w+)`", names):
            documented[name] = tuple(label.strip() for label in labels.split(",") if label.strip())
    declared = _declared_metrics()
    assert len(declared) >= 15
    assert documented == declared
