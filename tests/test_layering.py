"""Dependency direction: a connector may import the shared base, `schemas` and `auth`,
never `hub` or another agency's package; the schema kernel never imports connectors;
`auth` never imports `hub` (the hub wires auth in, not the other way round)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AGENCIES = sorted(p.name for p in (ROOT / "connectors").iterdir() if (p / "__init__.py").exists())
KERNEL = [
    "access",
    "batching",
    "context",
    "errors",
    "identifiers",
    "pagination",
    "records",
    "refs",
    "regions",
    "scalars",
    "composition",
]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("agency", [a for a in AGENCIES if a != "synthetic"])
def test_connector_imports_no_hub_and_no_other_agency(agency: str) -> None:
    others = {a for a in AGENCIES if a not in (agency, "synthetic")}
    for path in (ROOT / "connectors" / agency).rglob("*.py"):
        for module in _imports(path):
            parts = module.split(".")
            assert parts[0] != "hub", f"{path.relative_to(ROOT)} imports {module}"
            assert not (parts[0] == "connectors" and len(parts) > 1 and parts[1] in others), (
                f"{path.relative_to(ROOT)} imports another agency: {module}"
            )


@pytest.mark.parametrize("module", KERNEL)
def test_schema_kernel_does_not_import_connectors(module: str) -> None:
    for imported in _imports(ROOT / "schemas" / f"{module}.py"):
        assert imported.split(".")[0] not in ("connectors", "hub"), (
            f"schemas/{module} imports {imported}"
        )


def test_auth_does_not_import_hub() -> None:
    for path in (ROOT / "auth").rglob("*.py"):
        for module in _imports(path):
            assert module.split(".")[0] != "hub", f"{path.relative_to(ROOT)} imports {module}"


def test_no_function_level_imports() -> None:
    for package in ("hub", "schemas", "connectors", "auth", "migrations"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    inner = [
                        n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)
                    ]
                    assert not inner, (
                        f"{path.relative_to(ROOT)}:{node.name} imports inside a function"
                    )
