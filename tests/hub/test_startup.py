"""A `hub` process imports what its command uses: a served hub or agency service does not
import the libraries only other commands or settings need (Alembic, reportlab, psycopg,
asyncpg and SQLAlchemy's PostgreSQL dialect without PostgreSQL, Redis without
HUB_REDIS_URL, the OpenTelemetry SDK without an OTLP endpoint, XlsxWriter). The test suite
starts dozens of these processes and every `hub serve` worker is one: each such import
cost every one of them its CPU time (bench/results/make-test.md, "hub process start-up")."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

NOT_AT_START: tuple[str, ...] = (
    "alembic",
    "reportlab",
    "psycopg",
    "redis",
    "opentelemetry.sdk",
    "xlsxwriter",
    "asyncpg",
    "sqlalchemy.dialects.postgresql",
)


def _held(code: str, modules: Sequence[str], data_dir: Path) -> list[str]:
    """Which of `modules` a fresh process holds after `code` (what `code` printed first):
    SQLite in `data_dir`, nothing optional configured."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "OTEL_"))}
    environment["HUB_DATA_DIR"] = str(data_dir)
    probe = f"import sys\nprint(' '.join(m for m in {list(modules)!r} if m in sys.modules))\n"
    done = subprocess.run(
        [sys.executable, "-c", code + probe], env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1].split()


@pytest.mark.parametrize(
    "built",
    [
        "from hub.app import create_app\ncreate_app(HubSettings())",
        "from hub.subgraph_app import create_subgraph_app\n"
        "create_subgraph_app('housing', HubSettings())",
    ],
    ids=["hub serve", "hub connector serve"],
)
def test_a_served_app_imports_no_library_it_does_not_use(tmp_path: Path, built: str) -> None:
    code = f"from hub.settings import HubSettings\n{built}\n"
    assert _held(code, NOT_AT_START, tmp_path) == []


APPS = ("hub.app", "hub.subgraph_app", "hub.national_app", "hub.graph", "audit.operations")


PARSER_NEEDS_NONE = ("connectors", "graph", "sqlalchemy", "strawberry", "ingest.readers")
"""Nor do the command line's texts and choices: the agencies named in `hub connector serve`'s
help and the row limits' kinds in `hub clients add`'s are found when a help page shows them
(`hub.arguments`), the import formats are declared apart (`ingest.formats`)."""


def test_the_command_line_s_parser_imports_no_app_no_stores_no_settings(tmp_path: Path) -> None:
    """`hub --help` builds every command's parser, and needs none of these."""
    modules = (*APPS, "hub.wiring", "hub.settings", "hub.telemetry", *PARSER_NEEDS_NONE)
    assert _held("from hub import cli\ncli.parser()\n", modules, tmp_path) == []


@pytest.mark.parametrize(
    ("command", "named"),
    [
        (["connector", "serve"], ["bank", "court", "housing", "hr", "public_security", "hub"]),
        (["clients", "add"], ["regions:", "bank:", "courts:"]),
    ],
)
def test_help_written_when_shown_names_what_the_agencies_declare(
    tmp_path: Path, command: list[str], named: list[str]
) -> None:
    code = (
        "import contextlib, io\nfrom hub import cli\nout = io.StringIO()\n"
        f"with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        f"    cli.main({[*command, '--help']!r})\n"
        "print(' '.join(out.getvalue().split()))\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "OTEL_"))}
    environment["HUB_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    shown = done.stdout
    assert all(name in shown for name in named), shown


def test_hub_migrate_imports_the_stores_not_an_app(tmp_path: Path) -> None:
    code = "from hub import cli\nassert cli.main(['migrate']) == 0\n"
    assert _held(code, (*APPS, "hub.wiring"), tmp_path) == ["hub.wiring"]
