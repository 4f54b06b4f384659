"""The operation walk (depth, aliases, root fields, directives, cost) and the validation
cache it must not defeat."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import DocumentNode, OperationDefinitionNode, parse, print_ast

from graph.schema import HubSchema
from hub.graph import hub_schema
from hub.limits import operation
from hub.limits.operation import Measure, _Walk, measure_document
from hub.limits.pipeline import schema_extensions
from hub.settings import HubSettings

SETTINGS = HubSettings()


@pytest.fixture(scope="module")
def schema() -> HubSchema:
    return hub_schema()


def _measure(schema: HubSchema, document: str) -> Measure:
    [(_, measure)] = measure_document(
        schema._schema, parse(document), SETTINGS.limits, SETTINGS.pages
    )
    return measure


@pytest.mark.parametrize(
    ("document", "cost"),
    [
        ('{ project(code: "x") { code name } }', 3),
        ("{ projects(first: 5) { nodes { code } } }", 1 + 5 * (1 + 1)),
        ("{ projects { nodes { code } } }", 1 + 20 * (1 + 1)),
        ("query Q($n: Int) { projects(first: $n) { nodes { code } } }", 1 + 100 * (1 + 1)),
        ("{ projects(first: 1000) { nodes { code } } }", 1 + 100 * (1 + 1)),
        ('{ worker(idNumber: "x") { registrations { team } } }', 1 + 1 + 20 * 1),
    ],
    ids=["object", "first", "default page", "variable page", "over the maximum", "plain list"],
)
def test_cost(schema: HubSchema, document: str, cost: int) -> None:
    assert _measure(schema, document).cost == cost


def test_fragments_are_measured_once_and_multiplied(schema: HubSchema) -> None:
    levels = 200
    fragments = " ".join(
        f"fragment F{i} on Project {{ a{i}: code ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    document = (
        f'{{ project(code: "x") {{ ...F0 }} }} {fragments} fragment F{levels} on Project {{ code }}'
    )
    walk = _Walk(schema._schema, parse(document), SETTINGS.limits, SETTINGS.pages)
    [operation] = [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]
    measure = walk.operation(operation)  # 2**200 spreads: only a walk that reuses can finish
    assert len(walk.measured) == levels + 1  # each fragment measured once
    assert measure.cost == 1 + (2 ** (levels + 1) - 1)
    assert measure.aliases == 2**levels - 1
    assert measure.depth == 2


def test_a_fragment_cycle_measures_as_empty(schema: HubSchema) -> None:
    document = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    assert _measure(schema, document) == Measure()


def test_invalid_documents_are_measured_without_failing(schema: HubSchema) -> None:
    document = "{ nope { deeper(first: 3) { ...Missing ... on Nothing { x } } } }"
    assert _measure(schema, document).depth == 3


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The documents the limits' rule measures (each validation of one does)."""
    found: list[object] = []
    real = operation.measure_document

    def counted(*args: Any) -> Any:
        found.append(args[1])
        return real(*args)

    monkeypatch.setattr(operation, "measure_document", counted)
    return found


def test_the_validation_cache_hits_for_the_hub_schema(measured: list[object]) -> None:
    """The limits' rule is built once, so a repeated document is validated once."""
    schema = hub_schema(schema_extensions(HubSettings()))
    for _ in range(3):
        assert schema.execute_sync("{ __typename repeated: __typename }").data == {
            "__typename": "Query",
            "repeated": "Query",
        }
    assert len(measured) == 1


def test_the_validation_cache_keys_a_document_by_its_object(
    monkeypatch: pytest.MonkeyPatch, measured: list[object]
) -> None:
    """The parse cache gives one document object per text; the validation cache finds it
    by that object, never by hashing its whole tree (a request's worth of CPU: tens of µs
    for a dossier's document)."""
    schema = hub_schema(schema_extensions(HubSettings()))

    def refused(self: object) -> int:
        raise AssertionError("a document hashed")

    monkeypatch.setattr(DocumentNode, "__hash__", refused)
    for document in ("{ a: __typename }", "{ b: __typename }", "{ a: __typename }"):
        assert not schema.execute_sync(document).errors
    assert [print_ast(found) for found in measured] == [
        "{\n  a: __typename\n}",
        "{\n  b: __typename\n}",
    ]
    assert schema.execute_sync("{ nope }").errors == schema.execute_sync("{ nope }").errors
