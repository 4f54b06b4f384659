"""A `hub` process imports what its command uses: a served hub or agency service does not
import the libraries only other commands or settings need (Alembic, reportlab, psycopg
and asyncpg without PostgreSQL, Redis without HUB_REDIS_URL, the OpenTelemetry SDK
without an OTLP endpoint, XlsxWriter). The test suite starts dozens of these processes
and every `hub serve` worker is one: each such import cost every one of them its CPU
time (bench/results/make-test.md, "hub process start-up")."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
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
)


def _imported_after(code: str, data_dir: Path) -> list[str]:
    """Which of NOT_AT_START a fresh process holds after `code` (SQLite, nothing optional
    configured)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "OTEL_"))}
    environment["HUB_DATA_DIR"] = str(data_dir)
    probe = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import sys
        print(" ".join(m for m in {NOT_AT_START!r} if m in sys.modules))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


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
    assert _imported_after(code, tmp_path) == []


def test_the_command_line_imports_a_command_s_modules_when_it_runs(tmp_path: Path) -> None:
    """`hub --help` builds every command's parser but imports no app, no wiring of the
    stores and no graph schema; `hub migrate` builds the stores, not an app."""
    parsed = "from hub import cli\ncli.parser()\n"
    apps = "hub.app hub.subgraph_app hub.national_app hub.wiring hub.graph audit.operations"
    probe = f"import sys\nprint(' '.join(m for m in {apps.split()!r} if m in sys.modules))\n"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    environment["HUB_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", parsed + probe], env=environment, capture_output=True, text=True
    )
    assert done.stdout.split() == []

    migrated = "from hub import cli\nassert cli.main(['migrate']) == 0\n"
    done = subprocess.run(
        [sys.executable, "-c", migrated + probe], env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].split() == ["hub.wiring"]  # after what migrate printed
