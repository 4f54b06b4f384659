"""The five connectors' subgraph SDL composes into one supergraph, as judged by Apollo's
own composition library run with Node (an independent tool, not our code).

The npm packages are installed with `npm ci` from the committed lock file into a cache
directory outside the repository, keyed by the lock file's hash. Without `node` and
`npm` the test is skipped, unless HUB_TEST_REQUIRE_NODE=1 (CI), which makes it fail.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from connectors.base import discover
from schemas.subgraph import build_subgraph_schema

COMPOSE_DIR = Path(__file__).parent / "compose"
TOOL_FILES = ("package.json", "package-lock.json", "compose.mjs")
REQUIRE_NODE = os.environ.get("HUB_TEST_REQUIRE_NODE") == "1"


def apollo_tools() -> Path:
    """A directory holding the Node scripts with their packages installed."""
    if not (shutil.which("node") and shutil.which("npm")):
        message = "the federation composition check needs node and npm on PATH"
        if REQUIRE_NODE:
            pytest.fail(f"HUB_TEST_REQUIRE_NODE=1 but {message}")
        pytest.skip(message)
    lock = (COMPOSE_DIR / "package-lock.json").read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    tools = cache / "wage-hub" / f"apollo-{hashlib.sha256(lock).hexdigest()[:16]}"
    tools.mkdir(parents=True, exist_ok=True)
    for name in TOOL_FILES:
        shutil.copyfile(COMPOSE_DIR / name, tools / name)
    if not (tools / "node_modules" / ".package-lock.json").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=tools,
            check=True,
            capture_output=True,
            timeout=600,
        )
    return tools


def subgraph_sdl(name: str) -> str:
    (connector,) = [c for c in discover() if c.name == name]
    result = build_subgraph_schema(connector).execute_sync("{ _service { sdl } }")
    assert result.errors is None
    assert result.data is not None
    return str(result.data["_service"]["sdl"])


def compose(tools: Path, sdl: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    arguments = []
    for name, text in sdl.items():
        (tmp_path / f"{name}.graphql").write_text(text, encoding="utf-8")
        arguments.append(f"{name}={tmp_path / f'{name}.graphql'}")
    return subprocess.run(
        ["node", str(tools / "compose.mjs"), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_five_subgraphs_compose(tmp_path: Path) -> None:
    tools = apollo_tools()
    names = [c.name for c in discover()]
    result = compose(tools, {name: subgraph_sdl(name) for name in names}, tmp_path)
    assert result.returncode == 0, result.stderr
    supergraph = result.stdout
    for name in names:
        assert f"graph: {name.upper()}" in supergraph
    assert "@requiresScopes" in supergraph
    for field in ("wageAccount", "registrations", "identity", "blacklisted", "parties"):
        assert f"  {field}" in supergraph


def test_composition_reports_a_conflict(tmp_path: Path) -> None:
    """The check can fail: two subgraphs resolving one unshareable field do not compose."""
    tools = apollo_tools()
    bank = subgraph_sdl("bank")
    result = compose(tools, {"bank": bank, "bank_copy": bank}, tmp_path)
    assert result.returncode == 1
    assert "INVALID_FIELD_SHARING" in result.stderr
