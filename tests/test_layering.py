"""The layering, stated once and enforced on every import: a package imports only from its
own layer and the layers below it, so no arrow points up and no package cycle can form.

    hub          the applications, wiring, command line               (top)
    web          the web desk: pages, static assets, their security headers
    alerts       warnings that reach people: events, subscriptions, webhooks, work orders
    audit        the audit log: store, chain, middleware, its readers
    graph        the composed graph: schema, subgraph, jurisdiction, derived fields
    connectors   the connector contract and its transports; one package per agency
    synthetic    the synthetic world the agencies' seed modules turn into rows
    auth         clients, tokens, the token endpoint, the caller middleware
    ingest       agencies' files read and checked: formats, encodings, values, reports
    storage      databases: engines, the read path, column types, migrations
    kernel       types, errors, scopes, access, context, batching, composition  (bottom)

Within `connectors`, an agency's
package never imports another agency's, and the contract never imports an agency.
No function-level imports: a cycle is fixed in the layering, not hidden in a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from connectors.base import discover

ROOT = Path(__file__).resolve().parent.parent
LAYERS = (
    "kernel",
    "storage",
    "ingest",
    "auth",
    "synthetic",
    "connectors",
    "graph",
    "audit",
    "alerts",
    "web",
    "hub",
)
PACKAGES = LAYERS
LEVEL = {name: level for level, name in enumerate(PACKAGES)}
AGENCIES = {connector.__module__.split(".")[1] for connector in discover()}


def _imports(path: Path) -> set[str]:
    """What a module imports, its `kernel.deferred` modules included: a module imported
    when first used points up or across just as one imported at once would."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "deferred"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
    return found


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_every_first_party_package_has_a_layer() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages - {"tests", "bench"} <= set(PACKAGES), "give the new package a layer"


def test_a_deferred_module_counts_as_an_import(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text('app = deferred("hub.app")\n', encoding="utf-8")
    assert _imports(module) == {"hub.app"}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_points_up(package: str) -> None:
    for path in _sources(package):
        for module in _imports(path):
            top = module.split(".")[0]
            if top in LEVEL:
                assert LEVEL[top] <= LEVEL[package], (
                    f"{path.relative_to(ROOT)} imports {module}: {top} is above {package}"
                )


@pytest.mark.parametrize("agency", sorted(AGENCIES))
def test_an_agency_imports_no_other_agency(agency: str) -> None:
    others = AGENCIES - {agency}
    for path in (ROOT / "connectors" / agency).rglob("*.py"):
        for module in _imports(path):
            parts = module.split(".")
            assert not (parts[0] == "connectors" and len(parts) > 1 and parts[1] in others), (
                f"{path.relative_to(ROOT)} imports another agency: {module}"
            )


def test_the_connector_contract_imports_no_agency() -> None:
    for path in (ROOT / "connectors").glob("*.py"):
        for module in _imports(path):
            parts = module.split(".")
            assert not (parts[0] == "connectors" and len(parts) > 1 and parts[1] in AGENCIES), (
                f"{path.relative_to(ROOT)} imports an agency: {module}"
            )


def test_no_function_level_imports() -> None:
    for package in PACKAGES:
        for path in _sources(package):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    inner = [
                        n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)
                    ]
                    assert not inner, (
                        f"{path.relative_to(ROOT)}:{node.name} imports inside a function"
                    )
