"""The operation walk (depth, aliases, root fields, directives, cost) and the validation
cache it must not defeat."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    DocumentNode,
    OperationDefinitionNode,
    parse,
    print_ast,
    specified_rules,
    validate,
)
from graphql.validation import ValidationContext

from graph.schema import HubSchema
from hub.graph import hub_schema
from hub.limits import operation, pipeline
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


VARIABLE_DOCUMENTS = [
    "{ a: __type(name: $missing) { name } }",
    "query ($n: String!, $unused: Int) { __type(name: $n) { name } }",
    "query ($n: Int) { __type(name: $n) { name } }",
    "query ($n: String!) { ...F } fragment F on Query { __type(name: $n) { name } }",
    "query Q { ...F } fragment F on Query { __type(name: $undefined) { name } }",
    'query { __type(name: "$") { name } }',
    '{ __type(name: "...") { name } }',
    "{ ... on Query { __typename } }",
    "{ ...F } fragment F on Query { __typename } fragment G on Query { __typename }",
    '{ __type(name: "Query") { name } __typename }',
    "query A { __typename } query B($x: Int) { __typename }",
]


@pytest.mark.parametrize("document", VARIABLE_DOCUMENTS)
def test_the_variable_rules_report_what_graphql_cores_report(document: str) -> None:
    """The rules that skip the walk for variable usages in a document without variables
    or fragments report, for every document, exactly what graphql-core's own report."""
    schema = hub_schema()._schema
    ours = tuple(pipeline._WITHOUT_VARIABLES.get(r, r) for r in specified_rules)
    assert ours != tuple(specified_rules)
    parsed = parse(document)
    expected = [e.formatted for e in validate(schema, parsed, specified_rules)]
    assert [e.formatted for e in validate(schema, parsed, ours)] == expected


def test_a_document_without_variables_is_not_walked_for_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its operations' variable usages are not looked for (a second walk of the whole
    document); a document with a variable still has them found and checked."""
    schema = hub_schema(schema_extensions(HubSettings()))
    walked: list[object] = []
    real = ValidationContext.get_variable_usages

    def counted(self: ValidationContext, node: Any) -> Any:
        walked.append(node)
        return real(self, node)

    monkeypatch.setattr(ValidationContext, "get_variable_usages", counted)
    result = schema.execute_sync('{ a: __type(name: "Query") { name } b: __typename }')
    assert not result.errors
    assert result.data == {"a": {"name": "Query"}, "b": "Query"}
    assert walked == []
    result = schema.execute_sync(
        "query ($n: String!) { __type(name: $n) { name } }", variable_values={"n": "Query"}
    )
    assert not result.errors
    assert result.data == {"__type": {"name": "Query"}}
    assert len(walked) == 1
    assert [
        e.message for e in schema.execute_sync("{ __type(name: $n) { name } }").errors or ()
    ] == ["Variable '$n' is not defined."]
