"""`OperationNotes`: an operation's audit notes reach the request's record only as far as
its result carries them. In the hub no refusal nulls more than its own field
(`tests/graph/test_access.py::test_refusable_fields_are_nullable`), but any other error in
a non-null field still nulls its parent, whose other fields were resolved and noted."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo, build_schema, graphql_sync

from kernel.context import Disclosures, OperationNotes

SCHEMA = build_schema(
    """
    type Query { worker: Worker }
    type Worker { name: String contracts: [Contract!] }
    type Contract { signedOn: String wage: Int! employer: Employer }
    type Employer { name: String }
    """
)


class Noting:
    """Resolves every field of its type to `values[field]`, noting it as the hub's field
    guard does (and the employer's key as its entity gate does); `fails` raises."""

    def __init__(self, notes: OperationNotes, type_name: str, **values: Any) -> None:
        self.notes, self.type_name, self.values = notes, type_name, values

    def __getattr__(self, name: str) -> Any:
        if name not in self.values:
            raise AttributeError(name)

        def resolve(info: GraphQLResolveInfo) -> Any:
            value = self.values[name]
            if value == "fails":
                raise RuntimeError("the agency's service failed")
            self.notes.read((self.type_name, name), ("scope",), info.path)
            if name == "employer":
                self.notes.disclose([("Enterprise", "91410100MA0001")], info.path)
            return value

        return resolve


def _run(wage: Any) -> tuple[dict[str, Any], Disclosures]:
    record = Disclosures()
    notes = OperationNotes(record)
    employer = Noting(notes, "Employer", name="建工集团")
    contract = Noting(notes, "Contract", signedOn="2026-03-01", wage=wage, employer=employer)
    worker = Noting(notes, "Worker", name="张三", contracts=[contract])
    result = graphql_sync(
        SCHEMA,
        "{ worker { name contracts { signedOn wage employer { name } } } }",
        root_value=Noting(notes, "Query", worker=worker),
    )
    notes.settle(result.data, result.errors)
    assert result.data is not None
    return result.data, record


def test_what_an_error_nulls_is_not_recorded_as_disclosed() -> None:
    data, record = _run(wage="fails")
    assert data == {"worker": {"name": "张三", "contracts": None}}
    # the list is in the data (as null); nothing below it is
    assert set(record.fields) == {("Query", "worker"), ("Worker", "name"), ("Worker", "contracts")}
    assert record.entities == set()


def test_without_errors_every_note_is_recorded() -> None:
    data, record = _run(wage=35000)
    assert data["worker"]["contracts"][0]["wage"] == 35000
    assert set(record.fields) == {
        ("Query", "worker"), ("Worker", "name"), ("Worker", "contracts"),
        ("Contract", "signedOn"), ("Contract", "wage"), ("Contract", "employer"),
        ("Employer", "name"),
    }  # fmt: skip
    assert record.entities == {("Enterprise", "91410100MA0001")}
