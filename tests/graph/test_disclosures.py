"""Every field that discloses a worker's data records that worker, even when the request
selects no Worker (a hole a red-team exercise found): the audit record names the worker, so the worker's
access report lists the request.

A type whose rows carry a worker's ID number declares so (`kernel.ownership.discloses`);
the schema walk below checks the declarations against the types' own attributes, then
asks, for every field returning such a type, a query that reaches it without selecting
any Worker, and reads the audit record it left."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLSchema, Undefined, get_named_type
from strawberry.types.base import StrawberryObjectDefinition

from conftest import SEED, TEST_PURPOSE, ClientCredentials, RunningHub, serving
from grants import register_client
from graph.schema import HubSchema
from hub.app import create_app
from hub.graph import hub_schema
from hub.settings import DatabasePolicy
from hub.wiring import build_subject_hasher
from kernel.composition import Entity
from kernel.ownership import disclosed_by
from kernel.scopes import vocabulary
from synthetic.stories import stories

STORY = stories(SEED)
MONTH = STORY.through_month.strftime("%Y-%m")
ASKER = "test-disclosures"
AUDITOR = "audit-office-henan"
ENTITIES = {entity.value for entity in Entity}
ROOTS = {
    "Worker": "worker",
    "Project": "project",
    "Enterprise": "enterprise",
    "DisputeCase": "disputeCase",
}
ARGUMENTS = {
    "Worker": "idNumber",
    "Project": "code",
    "Enterprise": "uscc",
    "DisputeCase": "caseNumber",
}
LISTS = {
    "Worker": "workers",
    "Project": "projects",
    "Enterprise": "enterprises",
    "DisputeCase": "disputeCases",
}
KEYS = {"Worker": "idNumber", "Project": "code", "Enterprise": "uscc", "DisputeCase": "caseNumber"}
REQUIRED = {"month": MONTH, "period": MONTH, "from": MONTH, "to": MONTH}


@pytest.fixture(scope="module")
def schema() -> HubSchema:
    return hub_schema()


def _origins(schema: HubSchema) -> dict[str, type]:
    found = {}
    for name, concrete in schema.schema_converter.type_map.items():
        definition = concrete.definition
        if isinstance(definition, StrawberryObjectDefinition) and not definition.is_input:
            found[name] = definition.origin
    return found


def _discloses_workers(cls: type) -> bool:
    return any(owner.entity is Entity.WORKER for owner in disclosed_by(cls))


def test_every_type_carrying_a_worker_id_says_so(schema: HubSchema) -> None:
    """A record type with an ID-number attribute, or one a Worker's field returns,
    declares that it discloses the worker, naming that attribute."""
    graphql = schema._schema
    worker = graphql.get_type("Worker")
    assert isinstance(worker, GraphQLObjectType)
    under_worker = {get_named_type(f.type).name for f in worker.fields.values()}
    missing = []
    for name, cls in _origins(schema).items():
        if name in ENTITIES or not dataclasses.is_dataclass(cls):
            continue
        carried = {f.name for f in dataclasses.fields(cls) if f.name.endswith("id_number")}
        declared = {o.attribute for o in disclosed_by(cls) if o.entity is Entity.WORKER}
        if carried != declared:
            missing.append(f"{name} carries {sorted(carried)}, declares {sorted(declared)}")
        elif name in under_worker and _is_record(graphql, name) and not declared:
            missing.append(f"{name} is a Worker's record and declares no worker")
    assert missing == []


def _is_record(graphql: GraphQLSchema, name: str) -> bool:
    """An object type holding agency data (not a page, a region or an enum wrapper)."""
    found = graphql.get_type(name)
    return isinstance(found, GraphQLObjectType) and not name.endswith(("Connection", "Edge"))


# -- the walk -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Step:
    field: str
    arguments: str
    type_name: str


def _arguments(field: Any) -> str | None:
    given = []
    for name, argument in field.args.items():
        if isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined:
            if name not in REQUIRED:
                return None
            given.append(f'{name}: "{REQUIRED[name]}"')
    return f"({', '.join(given)})" if given else ""


def disclosing_paths(schema: HubSchema) -> list[tuple[str, tuple[Step, ...]]]:
    """From each entity, through records (never through another entity), to every field
    returning a type that discloses workers."""
    graphql, origins = schema._schema, _origins(schema)
    found: list[tuple[str, tuple[Step, ...]]] = []

    def walk(root: str, type_name: str, prefix: tuple[Step, ...]) -> None:
        parent = graphql.get_type(type_name)
        assert isinstance(parent, GraphQLObjectType)
        for name, field in parent.fields.items():
            named = get_named_type(field.type)
            arguments = _arguments(field)
            if not isinstance(named, GraphQLObjectType) or named.name in ENTITIES:
                continue
            if arguments is None or named.name in {s.type_name for s in prefix} or len(prefix) > 2:
                continue
            step = Step(name, arguments, named.name)
            if _discloses_workers(origins[named.name]):
                found.append((root, (*prefix, step)))
            walk(root, named.name, (*prefix, step))

    for root in sorted(ENTITIES):
        walk(root, root, ())
    return found


def _selection(graphql: GraphQLSchema, steps: tuple[Step, ...], name_workers: bool) -> str:
    step, *rest = steps
    inner = "__typename"
    if rest:
        inner += " " + _selection(graphql, tuple(rest), name_workers)
    else:
        record = graphql.get_type(step.type_name)
        assert isinstance(record, GraphQLObjectType)
        if name_workers and "worker" in record.fields:
            inner += " worker { idNumber }"
    return f"{step.field}{step.arguments} {{ {inner} }}"


def _document(graphql: GraphQLSchema, root: str, keys: list[str], steps: Any, name: bool) -> str:
    selection = _selection(graphql, steps, name)
    return (
        "{ "
        + " ".join(
            f'r{i}: {ROOTS[root]}({ARGUMENTS[root]}: "{key}") {{ {selection} }}'
            for i, key in enumerate(keys)
        )
        + " }"
    )


def _leaves(value: Any, depth: int) -> list[Any]:
    """The records at the end of the path (depth steps below a root)."""
    if value is None:
        return []
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item, depth)]
    if depth == 0:
        return [value]
    return [
        leaf
        for key, item in value.items()
        if key != "__typename"
        for leaf in _leaves(item, depth - 1)
    ]


@pytest.fixture(scope="module")
def asker(hub: RunningHub) -> Iterator[httpx.Client]:
    register_client(hub, ASKER, vocabulary())
    with httpx.Client(
        base_url=hub.url,
        timeout=60,
        auth=ClientCredentials(ASKER, hub.secrets[ASKER]),
        headers={"X-Purpose": TEST_PURPOSE},
    ) as client:
        yield client


def _workers_recorded(hub: RunningHub, request_id: str, client_id: str = ASKER) -> set[str]:
    """The Worker keys (hashed) in the audit record of one request, read as an auditor."""
    record = _recorded(hub, client_id, request_id)
    return {e["key"] for e in record["entities"] if e["kind"] == "Worker"}


def _candidates(hub: RunningHub, root: str) -> list[str]:
    story = {
        "Worker": STORY.dispute_worker_id,
        "Project": STORY.arrears_project_code,
        "Enterprise": STORY.blacklisted_contractor_uscc,
        "DisputeCase": STORY.dispute_case_number,
    }[root]
    listed = hub.data(f"{{ {LISTS[root]}(first: 100) {{ nodes {{ {KEYS[root]} }} }} }}")
    return [story, *(n[KEYS[root]] for n in listed[LISTS[root]]["nodes"] if n[KEYS[root]] != story)]


def test_every_field_disclosing_a_worker_records_the_worker(
    hub: RunningHub, schema: HubSchema, asker: httpx.Client
) -> None:
    graphql = schema._schema
    hasher = build_subject_hasher(hub.settings)
    paths = disclosing_paths(schema)
    assert len(paths) >= 15, paths
    unrecorded = []
    for root, steps in paths:
        where = f"{root}." + ".".join(s.field for s in steps)
        record = graphql.get_type(steps[-1].type_name)
        assert isinstance(record, GraphQLObjectType)
        assert "worker" in record.fields or root == "Worker", (
            f"{where}: give {record.name} a worker field, or reach it only from a Worker"
        )
        candidates = _candidates(hub, root)
        for start in range(0, len(candidates), 10):  # find parents the records exist under
            parents = candidates[start : start + 10]
            named = hub.data(_document(graphql, root, parents, steps, True))
            hits = [k for i, k in enumerate(parents) if _leaves(named[f"r{i}"], len(steps))]
            if hits:
                break
        assert hits, f"{where}: no seeded data reaches it; widen the candidates"
        named = hub.data(_document(graphql, root, hits, steps, True))
        workers = {
            leaf["worker"]["idNumber"]
            for i in range(len(hits))
            for leaf in _leaves(named[f"r{i}"], len(steps))
            if leaf.get("worker")
        } or (set(hits) if root == "Worker" else set())
        assert workers, where
        response = asker.post(
            "/graphql", json={"query": _document(graphql, root, hits, steps, False)}
        )
        assert "errors" not in response.json(), response.json()
        recorded = _workers_recorded(hub, response.headers["x-request-id"])
        if not {hasher.entity_key("Worker", w) for w in workers} <= recorded:
            unrecorded.append(where)
    assert unrecorded == []


RED_TEAM = {
    "bank-ccb-xinmi": '{ project(code: "%(project)s") { wageAccount { '
    'disbursements(period: "%(month)s") { amountFen cardNo %(worker)s } } } }',
    "mediation-xinmi": '{ disputeCase(caseNumber: "%(case)s") { parties { name %(worker)s } } }',
    "hr-bureau-xinmi": '{ project(code: "%(project)s") { '
    'wagePositions(month: "%(month)s") { paidFen %(worker)s } } }',
}


@pytest.mark.parametrize("client_id", list(RED_TEAM))
def test_the_red_teams_queries_reach_the_access_report(hub: RunningHub, client_id: str) -> None:
    """The three requests of the report, as those agencies: each worker they disclosed,
    asking at the service desk, sees the request."""
    values = {
        "project": STORY.arrears_project_code,
        "month": MONTH,
        "case": STORY.dispute_case_number,
    }
    named = str(hub.data(RED_TEAM[client_id] % {**values, "worker": "worker { idNumber }"}))
    disclosed = sorted(set(re.findall(r"'idNumber': '(\w{18})'", named)))
    assert disclosed
    response = hub.as_client(client_id).post(
        "/graphql", json={"query": RED_TEAM[client_id] % {**values, "worker": ""}}
    )
    assert "errors" not in response.json(), response.json()
    for worker in disclosed:
        report = (
            hub.as_client("service-desk-xinmi")
            .post(
                "/graphql",
                json={
                    "query": "query($id: IdNumber!) { accessReport(idNumber: $id, first: 20) "
                    "{ disclosures { nodes { requestId clientId } } } }",
                    "variables": {"id": worker},
                },
            )
            .json()
        )
        seen = report["data"]["accessReport"]["disclosures"]["nodes"]
        assert {"requestId": response.headers["x-request-id"], "clientId": client_id} in seen


def test_a_refused_field_is_null_alone_and_recorded_as_refused(hub: RunningHub) -> None:
    """A grant without `wage:read`, no row limits: a labour contract's daily wage is
    refused and null on its own (the contracts, their projects and employers still come);
    the record names what came as read, the daily wage as refused only. What an error
    nulls is not recorded as read: `tests/kernel/test_operation_notes.py`."""
    register_client(hub, "test-no-wage", [s for s in vocabulary() if s != "wage:read"])
    response = hub.as_client("test-no-wage").post(
        "/graphql",
        json={
            "query": "query($id: IdNumber!) { worker(idNumber: $id) { contracts { signedOn "
            "project { name startDate } employer { name } dailyWageFen } } }",
            "variables": {"id": STORY.dispute_worker_id},
        },
    )
    contracts = response.json()["data"]["worker"]["contracts"]
    assert contracts
    assert all(c["dailyWageFen"] is None and c["signedOn"] for c in contracts)
    assert {e["extensions"]["code"] for e in response.json()["errors"]} == {"FORBIDDEN"}
    record = _recorded(hub, "test-no-wage", response.headers["x-request-id"])
    assert {"LabourContract.signedOn", "Project.name", "Enterprise.name"} <= set(
        record["fieldsRead"]
    )
    assert "LabourContract.dailyWageFen" not in record["fieldsRead"]
    assert "LabourContract.dailyWageFen" in record["fieldsDenied"]
    assert {e["kind"] for e in record["entities"]} == {"Worker", "Project", "Enterprise"}


def test_operations_of_a_batch_settle_their_notes_into_one_record(hub: RunningHub) -> None:
    """A batch runs its operations at once on one request context, each settling its own
    notes into the request's one record: the refusal in one and what both read (a second
    hub over the same databases, with batches on)."""
    client_id = register_client(hub, "test-no-wage", [s for s in vocabulary() if s != "wage:read"])
    limits = hub.settings.limits.model_copy(update={"batch_max": 2})
    few = DatabasePolicy(pool_size=1, max_overflow=1)  # a shared PostgreSQL server
    app = create_app(hub.settings.model_copy(update={"limits": limits, "db": few}))
    variables = {"id": STORY.dispute_worker_id}
    refused = "query($id: IdNumber!) { worker(idNumber: $id) { contracts { signedOn employer { name } dailyWageFen } } }"
    carried = "query($id: IdNumber!) { worker(idNumber: $id) { contracts { signedOn } } }"
    with (
        serving(app, limits) as url,
        httpx.Client(
            base_url=url,
            timeout=30,
            auth=ClientCredentials(client_id, hub.secrets[client_id]),
            headers={"X-Purpose": TEST_PURPOSE},
        ) as client,
    ):
        response = client.post(
            "/graphql",
            json=[{"query": d, "variables": variables} for d in (refused, carried)],
        )
    first, second = response.json()
    assert all(c["dailyWageFen"] is None for c in first["data"]["worker"]["contracts"])
    assert second["data"]["worker"]["contracts"]
    record = _recorded(hub, client_id, response.headers["x-request-id"])
    assert {"LabourContract.signedOn", "LabourContract.employer", "Enterprise.name"} <= set(
        record["fieldsRead"]
    )
    assert "LabourContract.dailyWageFen" not in record["fieldsRead"]
    assert "LabourContract.dailyWageFen" in record["fieldsDenied"]
    assert {e["kind"] for e in record["entities"]} == {"Worker", "Enterprise"}


def _recorded(hub: RunningHub, client_id: str, request_id: str) -> dict[str, Any]:
    """One request's audit record, read as an auditor."""
    body = (
        hub.as_client(AUDITOR)
        .post(
            "/graphql",
            json={
                "query": "query($c: String!) { auditEvents(filter: {client: $c}, first: 20) "
                "{ nodes { requestId fieldsRead fieldsDenied entities { kind key } } } }",
                "variables": {"c": client_id},
            },
        )
        .json()
    )
    [record] = [n for n in body["data"]["auditEvents"]["nodes"] if n["requestId"] == request_id]
    return record  # type: ignore[no-any-return]
