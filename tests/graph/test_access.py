"""Default deny: every field of the graph declares the scope it needs or is marked public,
every scoped field a caller can be refused is nullable, and the SDL shows the scopes."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLNonNull, GraphQLObjectType
from strawberry.types.base import StrawberryObjectDefinition

from conftest import SEED, RunningHub
from graph.schema import HubSchema
from hub.graph import hub_schema
from hub.scope_table import FIELDLESS, page
from kernel.access import PUBLIC_KEY, SCOPES_KEY
from kernel.scopes import vocabulary
from synthetic.stories import stories


@pytest.fixture(scope="module")
def schema() -> HubSchema:
    return hub_schema()


def _object_types(schema: HubSchema) -> list[tuple[str, StrawberryObjectDefinition]]:
    found = []
    for name, concrete in schema.schema_converter.type_map.items():
        definition = concrete.definition
        if isinstance(definition, StrawberryObjectDefinition) and not definition.is_input:
            found.append((name, definition))
    return found


def test_every_field_declares_a_scope_or_is_public(schema: HubSchema) -> None:
    names = {name for name, _ in _object_types(schema)}
    assert {"Worker", "Registration", "Disbursement", "Compliance", "WorkerConnection"} <= names
    undeclared = [
        f"{name}.{field.python_name}"
        for name, definition in _object_types(schema)
        for field in definition.fields
        if not ({SCOPES_KEY, PUBLIC_KEY} & set(field.metadata or {}))
    ]
    assert undeclared == []


def test_only_known_scopes_are_used(schema: HubSchema) -> None:
    used = {
        scope
        for _, definition in _object_types(schema)
        for field in definition.fields
        for scope in (field.metadata or {}).get(SCOPES_KEY, ())
    }
    assert used <= set(vocabulary())
    assert used >= set(vocabulary()) - {"audit:read"} - set(FIELDLESS)


def test_refusable_fields_are_nullable(schema: HubSchema) -> None:
    """A refused non-null field would null its parent; masked fields are never refused.
    In an entity every scoped field may be refused; in a record (reached through a field
    with the record's own scope) those that need more than the record's least-guarded
    field — a contract's daily wage (wage:read) once nulled the whole contract list of a
    grant without wage:read that asked for it (the desk's dossier asks for it)."""
    entity_types = {"Worker", "Project", "Enterprise", "DisputeCase"}
    non_null = []
    for name, definition in _object_types(schema):
        declared = [
            frozenset((field.metadata or {}).get(SCOPES_KEY, ())) for field in definition.fields
        ]
        least = min((scopes for scopes in declared if scopes), key=len, default=frozenset())
        record = name not in entity_types and name != "Query"
        graphql_type = schema._schema.get_type(name)
        assert isinstance(graphql_type, GraphQLObjectType)
        for field, scopes in zip(definition.fields, declared, strict=True):
            scoped = bool(scopes) and not (record and scopes <= least)
            masked = any(getattr(e, "mask", None) for e in field.extensions)
            graphql_field = graphql_type.fields.get(
                schema.config.name_converter.get_graphql_name(field)
            )  # None: a field the schema leaves out
            if graphql_field is None:
                continue
            if scoped and not masked and isinstance(graphql_field.type, GraphQLNonNull):
                non_null.append(f"{name}.{field.python_name}")
    assert non_null == []


def test_sdl_prints_required_scopes(schema: HubSchema) -> None:
    sdl = schema.as_str()
    assert 'residences: [Residence!] @requiresScopes(scopes: [["worker:residence"]])' in sdl
    assert 'idNumber: IdNumber! @requiresScopes(scopes: [["worker:identity"]])' in sdl
    assert "directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION" in sdl


# --- One query as every demo agency: what is data, masked, FORBIDDEN, or invisible ---

AGENCY_QUERY = """
query($worker: IdNumber!, $project: String!, $outside: String!, $case: CaseNumber!) {
  worker(idNumber: $worker) {
    idNumber name
    registrations { trade }
    residences { status }
    disbursements { amountFen cardNo }
  }
  project(code: $project) { name wageAccount { accountNo } }
  outside: project(code: $outside) { name }
  disputeCase(caseNumber: $case) { status }
  warningSummary(month: "2026-10", regionCodePrefix: "410183") { total }
}
"""

D, M, F, N = "data", "masked", "FORBIDDEN", "null"
FIELDS = (
    "worker.idNumber", "worker.name", "worker.registrations", "worker.residences",
    "worker.disbursements", "cardNo", "project.name", "project.wageAccount", "accountNo",
    "outside", "disputeCase", "warningSummary",
)  # fmt: skip
EXPECTED = {
    "housing-bureau-xinmi": (D, D, D, F, F, F, D, F, F, N, F, D),
    "hr-bureau-xinmi": (D, D, D, F, D, M, D, D, M, N, D, D),
    "police-xinmi": (D, D, D, D, F, F, D, F, F, N, F, F),
    "bank-ccb-xinmi": (F, F, F, F, F, F, D, D, D, N, F, F),  # no ID-number look-ups
    "court-xinmi": (D, D, D, F, D, M, D, D, M, N, D, F),
    "mediation-xinmi": (D, D, D, F, D, M, D, D, M, N, D, F),
    "dashboard-zhengzhou": (F, F, F, F, F, F, D, F, F, N, F, D),
}


def _dig(data: object, path: str) -> object:
    for part in path.split("."):
        if isinstance(data, list):
            data = data[0] if data else None
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _outcome(body: dict, path: str, value_path: str) -> str:
    denied = {
        ".".join(map(str, e["path"]))
        for e in body.get("errors", [])
        if e["extensions"]["code"] == "FORBIDDEN"
    }
    if any(path == d or path.startswith(d + ".") for d in denied):
        return F  # withheld here or above
    value = _dig(body["data"], value_path)
    if value is None:
        return N
    if isinstance(value, str) and "*" in value:
        return M
    return D


@pytest.fixture(scope="module")
def outside_project(hub: RunningHub) -> str:
    """A project outside 郑州 whose special account is not kept by 中国建设银行."""
    nodes = hub.data(
        '{ projects(filter: {regionCodePrefix: "3"}, first: 50) '
        "{ nodes { code wageAccount { bankName } } } }"
    )["projects"]["nodes"]
    return next(
        n["code"]
        for n in nodes
        if not (n["wageAccount"] or {}).get("bankName", "").startswith("中国建设银行")
    )


@pytest.mark.parametrize("client_id", list(EXPECTED))
def test_each_agency_sees_what_its_grant_allows(
    hub: RunningHub, client_id: str, outside_project: str
) -> None:
    story = stories(SEED)
    response = hub.as_client(client_id).post(
        "/graphql",
        json={
            "query": AGENCY_QUERY,
            "variables": {
                "worker": story.dispute_worker_id,
                "project": story.arrears_project_code,
                "outside": outside_project,
                "case": story.dispute_case_number,
            },
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    where = {
        "cardNo": ("worker.disbursements.0.cardNo", "worker.disbursements.cardNo"),
        "accountNo": ("project.wageAccount.accountNo", "project.wageAccount.accountNo"),
    }
    seen = {}
    for field in FIELDS:
        error_path, value_path = where.get(field, (field, field))
        seen[field] = _outcome(body, error_path, value_path)
    assert seen == dict(zip(FIELDS, EXPECTED[client_id], strict=True))
    for error in body.get("errors", []):
        assert error["extensions"]["code"] == "FORBIDDEN", error
        assert "needs scope" in error["message"] or "not available" in error["message"]


BYPASSES = {
    "alias": "{ w: worker(idNumber: $id) { pay: disbursements { amountFen } } }",
    "fragment": "{ worker(idNumber: $id) { ...Pay } } fragment Pay on Worker { disbursements { amountFen } }",
    "inline fragment": "{ worker(idNumber: $id) { ... on Worker { disbursements { amountFen } } } }",
    "repeated": "{ a: worker(idNumber: $id) { disbursements { amountFen } } b: worker(idNumber: $id) { disbursements { amountFen } } }",
    "nested path": "{ worker(idNumber: $id) { registrations { project { registrations { worker { disbursements { amountFen } } } } } } }",
}  # fmt: skip


@pytest.mark.parametrize("shape", list(BYPASSES))
def test_no_query_shape_gets_around_a_scope(hub: RunningHub, shape: str) -> None:
    document = "query($id: IdNumber!) " + BYPASSES[shape].replace("{ ", "{ ", 1)
    body = (
        hub.as_client("police-xinmi")
        .post(
            "/graphql",
            json={"query": document, "variables": {"id": stories(SEED).dispute_worker_id}},
        )
        .json()
    )
    assert body["errors"], body
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert "amountFen" not in str(body["data"])


def test_region_bound_lists_stay_in_the_region(hub: RunningHub) -> None:
    police = hub.as_client("police-xinmi")
    body = police.post(
        "/graphql",
        json={
            "query": "{ workers(first: 100) { totalCount nodes { registrations { project { region { code } } } } } "
            "projects(first: 100) { totalCount nodes { region { code } } } }"
        },
    ).json()
    assert "errors" not in body, body
    projects = body["data"]["projects"]["nodes"]
    assert projects
    assert all(p["region"]["code"].startswith("410183") for p in projects)
    for worker in body["data"]["workers"]["nodes"]:
        seen = [r["project"] for r in worker["registrations"] if r["project"]]
        assert seen
        assert all(p["region"]["code"].startswith("410183") for p in seen)
    everywhere = hub.data("{ workers { totalCount } projects { totalCount } }")
    assert body["data"]["workers"]["totalCount"] < everywhere["workers"]["totalCount"]
    assert body["data"]["projects"]["totalCount"] < everywhere["projects"]["totalCount"]


def test_case_bound_clients_see_their_cases_only(hub: RunningHub) -> None:
    body = (
        hub.as_client("court-xinmi")
        .post(
            "/graphql",
            json={
                "query": "{ disputeCases(first: 100) { totalCount nodes { courtCode } } workers { totalCount } }"
            },
        )
        .json()
    )
    cases = body["data"]["disputeCases"]
    assert cases["totalCount"] == len(cases["nodes"]) > 0
    assert {c["courtCode"] for c in cases["nodes"]} == {"豫0183"}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


def test_bank_sees_only_accounts_it_keeps(hub: RunningHub) -> None:
    story = stories(SEED)
    body = (
        hub.as_client("bank-ccb-xinmi")
        .post(
            "/graphql",
            json={
                "query": "query($p: String!, $n: String!) { project(code: $p) { wageAccount { bankName } } "
                "noAccount: project(code: $n) { name } }",
                "variables": {"p": story.arrears_project_code, "n": story.no_account_project_code},
            },
        )
        .json()
    )
    assert body["data"]["project"]["wageAccount"]["bankName"].startswith("中国建设银行")
    assert body["data"]["noAccount"] is None


def test_masked_identity_cannot_be_probed_through_a_filter(hub: RunningHub) -> None:
    body = (
        hub.as_client("bank-ccb-xinmi")
        .post(
            "/graphql",
            json={
                "query": "query($id: IdNumber!) { disputeCases(filter: {partyIdNumber: $id}) { totalCount } }",
                "variables": {"id": stories(SEED).dispute_worker_id},
            },
        )
        .json()
    )
    assert body["data"] is None or body["data"]["disputeCases"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_published_scope_table_is_current(schema: HubSchema) -> None:
    """`python -m hub.scope_table > docs/scopes.md` (or `make schema`) regenerates it."""
    published = Path(__file__).resolve().parents[2] / "docs" / "scopes.md"
    assert published.read_text(encoding="utf-8") == page(schema)
