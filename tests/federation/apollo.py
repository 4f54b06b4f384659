"""Apollo's own tools, run with Node, as an independent judge of the subgraphs: the
composition library (`compose/compose.mjs`) and the gateway (`compose/gateway.mjs`).

The npm packages are installed with `npm ci` from the committed lock file into a cache
directory outside the repository, keyed by the lock file's hash. Without `node` and
`npm` the tests that need them are skipped, unless HUB_TEST_REQUIRE_NODE=1 (CI), which
makes them fail.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from connectors.base import discover
from graph import derived
from graph.merged import HUB_SUBGRAPH
from graph.subgraph import build_subgraph_schema

COMPOSE_DIR = Path(__file__).parent / "compose"
TOOL_FILES = ("package.json", "package-lock.json", "compose.mjs", "gateway.mjs")
REQUIRE_NODE = os.environ.get("HUB_TEST_REQUIRE_NODE") == "1"


def apollo_tools() -> Path:
    """A directory holding the Node scripts with their packages installed."""
    if not (shutil.which("node") and shutil.which("npm")):
        message = "the federation checks need node and npm on PATH"
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
    """An agency's subgraph SDL, or the hub's own (`hub`)."""
    contributions = [c.contribution for c in discover() if c.name == name] or (
        derived.CONTRIBUTIONS if name == HUB_SUBGRAPH else []
    )
    assert contributions, name
    result = build_subgraph_schema(contributions).execute_sync("{ _service { sdl } }")
    assert result.errors is None
    assert result.data is not None
    return str(result.data["_service"]["sdl"])


def compose(
    tools: Path, sdl: dict[str, str], where: Path, urls: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Composes {subgraph name: SDL}; `urls` are where a gateway will reach them."""
    arguments = []
    for name, text in sdl.items():
        (where / f"{name}.graphql").write_text(text, encoding="utf-8")
        url = f"={urls[name]}" if urls else ""
        arguments.append(f"{name}={where / f'{name}.graphql'}{url}")
    return subprocess.run(
        ["node", str(tools / "compose.mjs"), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
