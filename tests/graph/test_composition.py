"""The merged graph is composed loudly and its public shape is reviewed."""

from __future__ import annotations

from pathlib import Path

import pytest
import strawberry

from connectors.base import discover
from hub.graph import hub_schema
from kernel.composition import CompositionError, compose_type
from kernel.refs import WorkerKey

ROOT = Path(__file__).resolve().parents[2]


@strawberry.type
class _OneName:
    @strawberry.field
    def name(self) -> str:
        return "a"


@strawberry.type
class _AnotherName:
    @strawberry.field
    def name(self) -> str:
        return "b"


def test_two_contributors_of_one_field_fail_loudly() -> None:
    with pytest.raises(CompositionError, match=r"Worker\.name is contributed by both"):
        compose_type("Worker", "", WorkerKey, [_OneName, _AnotherName])


def test_every_agency_package_is_discovered() -> None:
    """Each package under connectors/ that declares a connector, and nothing else."""
    packages = sorted(
        p.parent.name
        for p in (ROOT / "connectors").glob("*/__init__.py")
        if "\nconnector = " in p.read_text(encoding="utf-8")
    )
    assert [c.name for c in discover()] == packages
    assert len(packages) >= 5


def test_schema_snapshot_is_current() -> None:
    """`make schema` rewrites schema.graphql; any change to the public graph shows in review."""
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert hub_schema().as_str() + "\n" == committed
