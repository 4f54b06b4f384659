"""The jurisdiction matrix: every kind of row limit × every entity × every way in, checked
against an independent statement of the rule.

Generated, not listed: the kinds come from `graph.jurisdiction.RULES` (every installed
package's, `connectors.discover()`), the ways in from the schema — each root look-up, each
list root (with each filter that names an entity), each field that links to an entity from
another entity or its records, `_entities` on every agency's subgraph and the hub's, and
the same look-ups, lists and links through a hub whose connectors are all remote.

The rule is stated here again, independently of the code that enforces it: one SQL
statement per kind, over the seeded SQLite databases attached side by side, listing what
a client with that limit may see. A kind with no statement fails, so a new kind cannot
arrive untested. Each answer is compared with what an unlimited client gets for the same
document once that statement is applied to it: an invisible entity is null (or absent
from its list), a record naming an invisible project is absent, and a filter naming an
invisible entity matches nothing.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLSchema, Undefined, get_named_type
from strawberry.types.base import StrawberryObjectDefinition, get_object_definition
from strawberry.utils.str_converters import to_camel_case
from test_remote import HUB_CLIENT, running_remote_hub

from conftest import SEED, TEST_PURPOSE, ClientCredentials, RunningHub, serving
from connectors.base import discover
from grants import register_client
from graph import derived
from graph.gates import named_entities
from graph.jurisdiction import RULES
from graph.merged import HUB_SUBGRAPH
from graph.schema import HubSchema
from graph.subgraph import key_name
from hub.graph import hub_schema
from hub.subgraph_app import create_subgraph_app
from kernel.composition import Entity
from kernel.scopes import vocabulary
from synthetic.stories import stories

ON_SQLITE = pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
"""The statements below attach SQLite files side by side; the rule does not depend on the
backend (the lists' SQL on PostgreSQL is covered by tests/graph/test_access.py)."""

STORY = stories(SEED)
MONTH = STORY.through_month.strftime("%Y-%m")
ENTITIES = {entity.value: entity for entity in Entity}
KEYS = {entity: key_name(entity) for entity in Entity}
UNLIMITED = "matrix-unlimited"

# -- the rule, stated independently: one statement per kind of limit --------------------------
# Each yields (entity, key) for a client holding the limit's values, bound as the table v(p).

STATEMENTS: dict[str, str] = {
    "regions": """
        WITH projects AS (SELECT code FROM h.housing_project, v
                          WHERE substr(region_code, 1, length(p)) = p)
        SELECT 'Project', code FROM projects
        UNION SELECT 'Worker', worker_id_number FROM h.housing_registration
              WHERE project_code IN projects
        UNION SELECT 'Enterprise', builder_uscc FROM h.housing_project WHERE code IN projects
        UNION SELECT 'Enterprise', contractor_uscc FROM h.housing_project WHERE code IN projects
        UNION SELECT 'Enterprise', employer_uscc FROM h.housing_registration
              WHERE project_code IN projects
        UNION SELECT 'DisputeCase', case_number FROM c.court_dispute_case, v
              WHERE substr(region_code, 1, length(p)) = p""",
    "bank": """
        WITH projects AS (SELECT project_code AS code FROM b.bank_wage_account, v
                          WHERE substr(bank_name, 1, length(p)) = p)
        SELECT 'Project', code FROM projects
        UNION SELECT 'Worker', worker_id_number FROM h.housing_registration
              WHERE project_code IN projects
        UNION SELECT 'Enterprise', builder_uscc FROM h.housing_project WHERE code IN projects
        UNION SELECT 'Enterprise', contractor_uscc FROM h.housing_project WHERE code IN projects
        UNION SELECT 'Enterprise', employer_uscc FROM h.housing_registration
              WHERE project_code IN projects""",
    "courts": """
        WITH cases AS (SELECT case_number, project_code FROM c.court_dispute_case
                       WHERE court_code IN (SELECT p FROM v))
        SELECT 'DisputeCase', case_number FROM cases
        UNION SELECT 'Project', project_code FROM cases WHERE project_code IS NOT NULL
        UNION SELECT 'Worker', id_number FROM c.court_case_party
              WHERE id_number IS NOT NULL AND case_number IN (SELECT case_number FROM cases)
        UNION SELECT 'Enterprise', uscc FROM c.court_case_party
              WHERE uscc IS NOT NULL AND case_number IN (SELECT case_number FROM cases)""",
}
VALUES: dict[str, tuple[str, ...]] = {
    "regions": ("410183", "320106"),
    "bank": ("中国建设银行",),
    "courts": ("豫0183",),
}
COMBINED: dict[str, tuple[str, ...]] = {"regions": ("4101",), "bank": ("中国建设银行",)}
"""A grant holding two kinds: every one of its limits must pass."""
UNIVERSE = """
    SELECT 'Worker', id_number FROM h.housing_worker
    UNION SELECT 'Worker', id_number FROM c.court_case_party WHERE id_number IS NOT NULL
    UNION SELECT 'Project', code FROM h.housing_project
    UNION SELECT 'Project', project_code FROM c.court_dispute_case WHERE project_code IS NOT NULL
    UNION SELECT 'Enterprise', uscc FROM h.housing_enterprise
    UNION SELECT 'Enterprise', uscc FROM c.court_case_party WHERE uscc IS NOT NULL
    UNION SELECT 'DisputeCase', case_number FROM c.court_dispute_case"""
"""Every key any agency holds, so look-ups try keys one agency knows and another does not."""
RELATED = """
    SELECT 'Worker', worker_id_number, project_code FROM h.housing_registration
    UNION SELECT 'Worker', worker_id_number, project_code FROM b.bank_disbursement
    UNION SELECT 'Worker', worker_id_number, project_code FROM r.hr_complaint
          WHERE worker_id_number IS NOT NULL AND project_code IS NOT NULL
    UNION SELECT 'Enterprise', builder_uscc, code FROM h.housing_project
    UNION SELECT 'Enterprise', contractor_uscc, code FROM h.housing_project
    UNION SELECT 'Enterprise', employer_uscc, project_code FROM h.housing_registration
    UNION SELECT 'Enterprise', holder_uscc, project_code FROM b.bank_wage_account
    UNION SELECT 'Enterprise', enterprise_uscc, project_code FROM r.hr_complaint
          WHERE project_code IS NOT NULL
    UNION SELECT 'DisputeCase', case_number, project_code FROM c.court_dispute_case
          WHERE project_code IS NOT NULL"""
"""Which projects each entity's records name: a good place to start a nested link from is
an entity the client sees whose records also name a project it does not."""

Keys = dict[Entity, set[str]]


def _connect(hub: RunningHub) -> sqlite3.Connection:
    def path(name: str) -> str:
        return "file:" + hub.settings.database_url(name).removeprefix("sqlite:///") + "?mode=ro"

    connection = sqlite3.connect("file::memory:", uri=True)
    for alias, name in (("h", "housing"), ("b", "bank"), ("c", "court"), ("r", "hr")):
        connection.execute(f"ATTACH DATABASE '{path(name)}' AS {alias}")
    return connection


def _rows(connection: sqlite3.Connection, statement: str, values: tuple[str, ...]) -> Keys:
    connection.execute("DROP TABLE IF EXISTS temp.v")
    connection.execute("CREATE TEMP TABLE v (p TEXT)")
    connection.executemany("INSERT INTO temp.v VALUES (?)", [(value,) for value in values])
    found: Keys = {entity: set() for entity in Entity}
    for entity, key in connection.execute(statement):
        found[ENTITIES[entity]].add(key)
    return found


def visible_under(hub: RunningHub, limits: dict[str, tuple[str, ...]]) -> Keys:
    """What a grant with these limits may see: the intersection of its kinds' statements."""
    with closing(_connect(hub)) as connection:
        kinds = []
        for kind, values in limits.items():
            if kind not in STATEMENTS:
                pytest.fail(f"row limit {kind!r} has no independent statement here: write one")
            kinds.append(_rows(connection, STATEMENTS[kind], values))
    return {entity: set.intersection(*(k[entity] for k in kinds)) for entity in Entity}


# -- the clients ------------------------------------------------------------------------------


@dataclass
class Client:
    name: str
    visible: Keys
    """What the statements say this client may see."""


def _grants() -> dict[str, dict[str, tuple[str, ...]]]:
    return {
        **{kind: {kind: VALUES.get(kind, ())} for kind in sorted(RULES.kinds)},
        "combined": COMBINED,
    }


@pytest.fixture(scope="module")
def universe(hub: RunningHub) -> Keys:
    with closing(_connect(hub)) as connection:
        return _rows(connection, UNIVERSE, ())


@pytest.fixture(scope="module")
def clients(hub: RunningHub) -> dict[str, Client]:
    register_client(hub, UNLIMITED, vocabulary())
    found = {}
    for name, limits in _grants().items():
        register_client(hub, f"matrix-{name}", vocabulary(), limits)
        found[name] = Client(f"matrix-{name}", visible_under(hub, limits))
    return found


def test_every_kind_of_limit_has_a_statement_and_a_value() -> None:
    """A package that declares a new kind must bring its statement here."""
    assert set(RULES.kinds) <= set(STATEMENTS), "write the new kind's statement"
    assert set(RULES.kinds) <= set(VALUES), "give the new kind's values"


KEY_LIKE = ("projectcode", "idnumber", "uscc", "casenumber")


def _arguments_named_like_keys(field: Any) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()

    def visit(path: tuple[str, ...], field_type: Any) -> None:
        if path[-1].replace("_", "").lower().endswith(KEY_LIKE):
            found.add(path)
        inner = field_type
        while hasattr(inner, "of_type"):
            inner = inner.of_type
        definition = get_object_definition(inner) if isinstance(inner, type) else None
        if definition is not None and definition.is_input:
            for member in definition.fields:
                visit((*path, member.python_name), member.type)

    for argument in field.arguments:
        visit((argument.python_name,), argument.type)
    return found


def test_every_argument_naming_an_entity_says_so(schema: HubSchema) -> None:
    """The filters checked below are found from what the arguments declare
    (`kernel.ownership.names`, or a key scalar): one that names an entity's key without
    declaring it would escape both the check and the gate."""
    undeclared = []
    for name, concrete in schema.schema_converter.type_map.items():
        definition = concrete.definition
        if not isinstance(definition, StrawberryObjectDefinition) or definition.is_input:
            continue
        for field in definition.fields:
            declared = {path for path, _ in named_entities(field)}
            undeclared += [
                f"{name}.{field.python_name}({'.'.join(path)})"
                for path in _arguments_named_like_keys(field) - declared
            ]
    assert undeclared == []


@ON_SQLITE
def test_the_statements_see_some_and_not_all(clients: dict[str, Client], universe: Keys) -> None:
    """Otherwise the matrix could pass by comparing nothing."""
    for name, client in clients.items():
        for entity in Entity:
            assert client.visible[entity] <= universe[entity], (name, entity)
            if "bank" not in _grants()[name] or entity is not Entity.DISPUTE_CASE:  # no case
                assert client.visible[entity], (name, entity)
        assert any(client.visible[e] != universe[e] for e in Entity), name


# -- asking ----------------------------------------------------------------------------------


@dataclass
class Asker:
    """Posts GraphQL documents as one client to one hub (or subgraph), waiting out a rate
    limit rather than failing on it. `remembers`: each document asked once, its answer
    kept (the unlimited reference, asked the same documents for every kind of limit and
    again beside the remote hub; the data does not change within this module)."""

    client: httpx.Client
    remembers: bool = False
    answers: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def ask(self, document: str) -> dict[str, Any]:
        if document not in self.answers:
            answer = self._ask(document)
            if not self.remembers:
                return answer
            self.answers[document] = answer
        return self.answers[document]  # read, never changed, by the comparisons

    def _ask(self, document: str) -> dict[str, Any]:
        response = self.client.post("/graphql", json={"query": document})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="module")
def askers(hub: RunningHub, clients: dict[str, Client]) -> Iterator[dict[str, Asker]]:
    names = [UNLIMITED, *(c.name for c in clients.values())]
    with ExitStack() as stack:
        yield {
            name: Asker(stack.enter_context(_http(hub.url, hub, name)), remembers=name == UNLIMITED)
            for name in names
        }


def _http(url: str, hub: RunningHub, client_id: str) -> httpx.Client:
    return httpx.Client(
        base_url=url,
        timeout=60,
        auth=ClientCredentials(client_id, hub.secrets[client_id]),
        headers={"X-Purpose": TEST_PURPOSE},
    )


@pytest.fixture(scope="module")
def subgraphs(hub: RunningHub) -> Iterator[dict[str, str]]:
    """Every agency served alone, and the hub's own fields, trusting the hub as a delegate;
    no rate limit (a subgraph's is tested in test_agency_services_audited): the remote hub
    asks housing for every look-up, list and link of every kind, and on a quiet machine
    emptied the default bucket (50/s, burst 200): a 429 the hub neither retries nor hides."""
    names = [*(c.name for c in discover()), HUB_SUBGRAPH]
    unlimited = hub.settings.model_copy(update={"rate_limits": {"default": "off"}})
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(
                serving(create_subgraph_app(name, unlimited, delegates=[HUB_CLIENT]))
            )
            for name in names
        }


@pytest.fixture(scope="module")
def remote_askers(
    hub: RunningHub, clients: dict[str, Client], subgraphs: dict[str, str]
) -> Iterator[dict[str, Asker]]:
    """A second hub on the same stores whose every connector is remote."""
    agencies = {c.name: f"{subgraphs[c.name]}/graphql" for c in discover()}
    with running_remote_hub(hub, agencies) as remote, ExitStack() as stack:
        yield {
            c.name: Asker(stack.enter_context(_http(remote.url, hub, c.name)))
            for c in clients.values()
        }


# -- the ways in, from the schema -------------------------------------------------------------

REQUIRED = {"month": MONTH, "period": MONTH, "from": MONTH, "to": MONTH}
REQUIRED_AT_ROOT = {**REQUIRED, "siteRegionCodePrefix": "410183"}


@dataclass(frozen=True)
class Step:
    field: str
    arguments: str
    type_name: str


def _arguments(field: Any, table: dict[str, str]) -> str | None:
    """Literal values for the field's required arguments; None if one is not in `table`."""
    given = []
    for name, argument in field.args.items():
        if isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined:
            if name not in table:
                return None
            given.append(f"{name}: {json.dumps(table[name], ensure_ascii=False)}")
    return f"({', '.join(given)})" if given else ""


def nested_links(schema: GraphQLSchema, start: str, depth: int = 3) -> list[tuple[Step, ...]]:
    """Every path from an entity, through its fields and its records' fields, to a field
    that returns an entity."""
    found: list[tuple[Step, ...]] = []

    def walk(type_name: str, prefix: tuple[Step, ...], seen: frozenset[str]) -> None:
        parent = schema.get_type(type_name)
        assert isinstance(parent, GraphQLObjectType)
        for name, field in parent.fields.items():
            named = get_named_type(field.type)
            arguments = _arguments(field, REQUIRED)
            if not isinstance(named, GraphQLObjectType) or arguments is None:
                continue
            step = Step(name, arguments, named.name)
            if named.name in ENTITIES:
                found.append((*prefix, step))
            elif named.name not in seen and len(prefix) + 1 < depth:
                walk(named.name, (*prefix, step), seen | {named.name})

    walk(start, (), frozenset({start}))
    return found


def _selection(schema: GraphQLSchema, type_name: str, rest: tuple[Step, ...]) -> str:
    """`__typename`, the key of an entity or the project a record names, and the path on."""
    parts = ["__typename"]
    if type_name in ENTITIES:
        parts.append(KEYS[ENTITIES[type_name]])
    else:
        record = schema.get_type(type_name)
        assert isinstance(record, GraphQLObjectType)
        project = record.fields.get("project")
        if project is not None and get_named_type(project.type).name == "Project":
            parts.append("project { __typename code }")
    if rest:
        step, *more = rest
        parts.append(
            f"{step.field}{step.arguments} {{ {_selection(schema, step.type_name, tuple(more))} }}"
        )
    return " ".join(parts)


def root_lookups(schema: GraphQLSchema) -> dict[Entity, tuple[str, str]]:
    """Per entity, its look-up root and that root's one argument."""
    query = schema.query_type
    assert query is not None
    found = {}
    for name, field in query.fields.items():
        named = get_named_type(field.type)
        required = [a for a, arg in field.args.items() if isinstance(arg.type, GraphQLNonNull)]
        if named.name in ENTITIES and "List" not in str(field.type) and len(required) == 1:
            found[ENTITIES[named.name]] = (name, required[0])
    assert set(found) == set(Entity), "every entity has a look-up root"
    return found


def list_roots(schema: GraphQLSchema) -> list[tuple[str, str, str]]:
    """(field, its node type, literal required arguments) of every root list of entities or
    of records that name a project."""
    query = schema.query_type
    assert query is not None
    found = []
    for name, field in query.fields.items():
        named = get_named_type(field.type)
        if not (isinstance(named, GraphQLObjectType) and "edges" in named.fields):
            continue
        node = get_named_type(named.fields["nodes"].type)
        assert isinstance(node, GraphQLObjectType)
        if node.name in ENTITIES or "project" in node.fields:
            arguments = _arguments(field, REQUIRED_AT_ROOT)
            assert arguments is not None, f"give {name}'s required arguments a value"
            found.append((name, node.name, arguments.strip("()")))
    return found


# -- what the rule expects of an answer -------------------------------------------------------


def expected(value: Any, visible: Keys) -> Any:
    """The unlimited client's answer with the rule applied: invisible entities and records
    naming an invisible project gone (null, or absent from a list)."""
    if isinstance(value, list):
        kept = [expected(item, visible) for item in value]
        return [item for item in kept if item is not None]
    if not isinstance(value, dict):
        return value
    kind = value.get("__typename")
    if kind in ENTITIES and value[KEYS[ENTITIES[kind]]] not in visible[ENTITIES[kind]]:
        return None
    project = value.get("project")
    if kind not in ENTITIES and project and project["code"] not in visible[Entity.PROJECT]:
        return None
    return {name: expected(item, visible) for name, item in value.items()}


def _compare(asker: Asker, reference: Asker, document: str, visible: Keys, where: str) -> None:
    got, everything = asker.ask(document), reference.ask(document)
    assert "errors" not in everything, (where, everything["errors"])
    assert "errors" not in got, (where, got["errors"])
    assert got["data"] == expected(everything["data"], visible), where


def _parents(hub: RunningHub, universe: Keys, client: Client, entity: Entity) -> list[str]:
    """Ten keys to start from: visible ones whose records name projects the client cannot
    see (where a leak would show), other visible ones, the story's, and invisible ones."""
    rng = random.Random(f"{SEED}-{client.name}-{entity.value}")
    with closing(_connect(hub)) as connection:
        related = connection.execute(RELATED).fetchall()
    visible, projects = client.visible[entity], client.visible[Entity.PROJECT]
    mixed = sorted(
        {key for kind, key, code in related if kind == entity.value and code not in projects}
        & visible
    )
    story = {STORY.dispute_worker_id, STORY.arrears_project_code, STORY.dispute_case_number}
    unseen = sorted(universe[entity] - visible)
    chosen = [
        *rng.sample(mixed, min(5, len(mixed))),
        *sorted(story & universe[entity]),
        *rng.sample(sorted(visible), min(2, len(visible))),
        *rng.sample(unseen, min(2, len(unseen))),
    ]
    return list(dict.fromkeys(chosen))[:10]


def _lookups(root: str, argument: str, keys: list[str], selection: str) -> str:
    return (
        "{ "
        + " ".join(
            f"r{i}: {root}({argument}: {json.dumps(key, ensure_ascii=False)}) {{ {selection} }}"
            for i, key in enumerate(keys)
        )
        + " }"
    )


@pytest.fixture(scope="module")
def schema() -> HubSchema:
    return hub_schema()


KINDS = [*sorted(RULES.kinds), "combined"]


# -- the matrix --------------------------------------------------------------------------------


def _every_lookup(
    schema: HubSchema, universe: Keys, client: Client, asker: Asker, reference: Asker
) -> None:
    for entity, (root, argument) in root_lookups(schema._schema).items():
        keys = sorted(universe[entity])
        selection = _selection(schema._schema, entity.value, ())
        for start in range(0, len(keys), 10):
            document = _lookups(root, argument, keys[start : start + 10], selection)
            _compare(asker, reference, document, client.visible, f"{root} {keys[start]}")


def _every_link(
    hub: RunningHub,
    schema: HubSchema,
    universe: Keys,
    client: Client,
    asker: Asker,
    reference: Asker,
) -> None:
    lookups = root_lookups(schema._schema)
    for entity, (root, argument) in lookups.items():
        parents = _parents(hub, universe, client, entity)
        for path in nested_links(schema._schema, entity.value):
            selection = _selection(schema._schema, entity.value, path)
            where = f"{entity.value}." + ".".join(step.field for step in path)
            _compare(
                asker,
                reference,
                _lookups(root, argument, parents, selection),
                client.visible,
                where,
            )


def _listing(asker: Asker, root: str, arguments: str, selection: str) -> dict[str, Any] | str:
    """Every page of a root list, or the reason it was refused."""
    nodes: list[Any] = []
    after: str | None = None
    while True:
        given = ", ".join(
            a
            for a in (arguments, "first: 100", f"after: {json.dumps(after)}" if after else "")
            if a
        )
        body = asker.ask(
            f"{{ {root}({given}) {{ totalCount pageInfo {{ hasNextPage endCursor }} "
            f"nodes {{ {selection} }} }} }}"
        )
        if body.get("errors"):
            [error] = body["errors"]
            return f"{error['extensions']['code']}: {error['message']}"
        page = body["data"][root]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return {"totalCount": page["totalCount"], "nodes": nodes}
        after = page["pageInfo"]["endCursor"]


def _filters(schema: HubSchema, root: str) -> list[tuple[tuple[str, ...], Entity]]:
    field = schema.get_field_for_type(root, "Query")
    assert field is not None
    return [(tuple(map(to_camel_case, path)), entity) for path, entity in named_entities(field)]


def _literal(path: tuple[str, ...], key: str) -> str:
    inner = json.dumps(key, ensure_ascii=False)
    for name in reversed(path[1:]):
        inner = f"{{{name}: {inner}}}"
    return f"{path[0]}: {inner}"


def _matching(
    reference: Asker, root: str, arguments: str, path: tuple[str, ...], keys: list[str]
) -> str | None:
    """A key the filter matches something with, for the unlimited client: naming an
    entity the caller cannot see must then hide what it matches."""
    for key in keys[:12]:
        given = ", ".join(a for a in (arguments, _literal(path, key)) if a)
        body = reference.ask(f"{{ {root}({given}, first: 1) {{ totalCount }} }}")
        if body["data"][root]["totalCount"]:
            return key
    return keys[0] if keys else None


def _every_list(
    schema: HubSchema, universe: Keys, client: Client, asker: Asker, reference: Asker
) -> None:
    for root, node, arguments in list_roots(schema._schema):
        selection = _selection(schema._schema, node, ())
        variants: list[tuple[str, bool]] = [("", True)]
        for path, entity in _filters(schema, root):
            for keys, named_visible in (
                (client.visible[entity], True),
                (universe[entity] - client.visible[entity], False),
            ):
                key = _matching(reference, root, arguments, path, sorted(keys))
                if key is not None:
                    variants.append((_literal(path, key), named_visible))
        for extra, named_visible in variants:
            given = ", ".join(a for a in (arguments, extra) if a)
            where = f"{root}({given})"
            got = _listing(asker, root, given, selection)
            if isinstance(got, str):
                assert got.startswith("FORBIDDEN"), (where, got)
                assert "not available to a client limited by" in got or "outside" in got, where
                continue
            everything = _listing(reference, root, given, selection)
            assert not isinstance(everything, str), (where, everything)
            nodes = expected(everything["nodes"], client.visible) if named_visible else []
            assert got["nodes"] == nodes, (client.name, where)
            assert got["totalCount"] == len(nodes), (client.name, where)


@ON_SQLITE
@pytest.mark.parametrize("kind", KINDS)
def test_root_lookups(
    schema: HubSchema,
    universe: Keys,
    clients: dict[str, Client],
    askers: dict[str, Asker],
    kind: str,
) -> None:
    client = clients[kind]
    _every_lookup(schema, universe, client, askers[client.name], askers[UNLIMITED])


@ON_SQLITE
@pytest.mark.parametrize("kind", KINDS)
def test_list_roots_and_their_filters(
    schema: HubSchema,
    universe: Keys,
    clients: dict[str, Client],
    askers: dict[str, Asker],
    kind: str,
) -> None:
    client = clients[kind]
    _every_list(schema, universe, client, askers[client.name], askers[UNLIMITED])


@ON_SQLITE
@pytest.mark.parametrize("kind", KINDS)
def test_nested_links(
    hub: RunningHub,
    schema: HubSchema,
    universe: Keys,
    clients: dict[str, Client],
    askers: dict[str, Asker],
    kind: str,
) -> None:
    client = clients[kind]
    _every_link(hub, schema, universe, client, askers[client.name], askers[UNLIMITED])


def _contributed(name: str) -> set[Entity]:
    if name == HUB_SUBGRAPH:
        return {e for c in derived.CONTRIBUTIONS for e in c.entities}
    [connector] = [c for c in discover() if c.name == name]
    return set(connector.contribution.entities)


@ON_SQLITE
@pytest.mark.parametrize("kind", KINDS)
def test_entities_on_every_subgraph(
    hub: RunningHub,
    universe: Keys,
    clients: dict[str, Client],
    subgraphs: dict[str, str],
    kind: str,
) -> None:
    client = clients[kind]
    document = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"
    maximum = hub.settings.pages.maximum
    headers = {"Authorization": f"Bearer {hub.token(client.name)}", "X-Purpose": TEST_PURPOSE}
    for name, url in subgraphs.items():
        for entity in sorted(_contributed(name), key=lambda e: e.value):
            keys = sorted(universe[entity])
            for start in range(0, len(keys), maximum):
                chunk = keys[start : start + maximum]
                representations = [{"__typename": entity.value, KEYS[entity]: k} for k in chunk]
                response = httpx.post(
                    f"{url}/graphql",
                    json={"query": document, "variables": {"r": representations}},
                    headers=headers,
                    timeout=60,
                )
                assert response.status_code == 200, response.text
                body = response.json()
                assert "errors" not in body, (name, body["errors"])
                seen = [
                    k for k, found in zip(chunk, body["data"]["_entities"], strict=True) if found
                ]
                assert set(seen) == set(chunk) & client.visible[entity], (kind, name, entity)


@ON_SQLITE
@pytest.mark.parametrize("kind", KINDS)
def test_a_hub_with_remote_connectors(
    hub: RunningHub,
    schema: HubSchema,
    universe: Keys,
    clients: dict[str, Client],
    askers: dict[str, Asker],
    remote_askers: dict[str, Asker],
    kind: str,
) -> None:
    """The same look-ups, lists and links, every agency reached over HTTP."""
    client = clients[kind]
    asker = remote_askers[client.name]
    assert (
        urlsplit(str(asker.client.base_url)).netloc
        != urlsplit(str(askers[UNLIMITED].client.base_url)).netloc
    )
    _every_lookup(schema, universe, client, asker, askers[UNLIMITED])
    _every_list(schema, universe, client, asker, askers[UNLIMITED])
    _every_link(hub, schema, universe, client, asker, askers[UNLIMITED])
