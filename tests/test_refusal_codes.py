"""Every HTTP refusal code is a constant of `kernel.errors`, so a client can rely on the
set the module's docstring lists and no module invents a variant (`too_large` beside
`request_too_large` was one)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kernel import errors

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kernel", "storage", "ingest", "auth", "connectors", "graph", "audit", "web", "hub")
REFUSERS = {"Refusal", "_Refused", "_refused"}


def _bare_codes(source: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in REFUSERS and len(node.args) >= 2:
                code = node.args[1]
                if isinstance(code, ast.Constant) and isinstance(code.value, str):
                    found.append((node.lineno, code.value))
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value == "error"
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                ):
                    found.append((node.lineno, value.value))
    return found


def _modules() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and path != ROOT / "kernel" / "errors.py"
    )


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_refusal_code_is_a_bare_string(path: Path) -> None:
    assert _bare_codes(path.read_text(encoding="utf-8")) == [], (
        "use (or add) a constant in kernel/errors.py"
    )


def test_the_scan_finds_a_bare_code() -> None:
    assert _bare_codes('raise Refusal(400, "too_large", "x")\nd = {"error": "nope"}') == [
        (1, "too_large"),
        (2, "nope"),
    ]


def test_every_http_code_is_listed_in_the_hierarchy() -> None:
    doc = errors.__doc__ or ""
    codes = [
        name
        for name, value in vars(errors).items()
        if name.isupper() and isinstance(value, str) and value.islower() and "_" in value
    ]
    assert codes, "the HTTP refusal codes are lower-case constants"
    missing = [name for name in codes if name not in doc]
    assert missing == []


def test_the_scan_sees_every_refuser_called_with_a_code() -> None:
    """Each name the scan watches is still called with a code somewhere (else renaming it
    would leave the scan above passing over nothing)."""
    called: set[str] = set()
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and len(node.args) >= 2:
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in REFUSERS and isinstance(node.args[1], ast.Attribute):
                    called.add(name)
    assert called == REFUSERS
