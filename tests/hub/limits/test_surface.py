"""The whole request surface, generated: never a 500, never an INTERNAL_SERVER_ERROR, and
every answer JSON with a request id.

    /graphql          operations built from the schema itself: every root field, its
                      arguments as literals or variables, nested selections with their
                      own arguments, values drawn from valid keys of the seeded world and
                      from hostile text (NUL, lone surrogates, huge numbers, months and
                      dates at the calendar's edges, forged cursors); with a random
                      operationName, extensions and X-Purpose / X-Purpose-Reference
    /oauth/token      form bodies, Basic credentials and content types
    /connector/load   calls shaped like the wire protocol, with hostile keys and records
    /readyz           query strings and headers

On SQLite and PostgreSQL (a NUL is harmless to one and fatal to the other)."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth.store import Grant
from conftest import TEST_PURPOSE, ClientCredentials, RunningHub, serving
from connectors.base import discover
from hub.graph import hub_schema
from hub.subgraph_app import create_subgraph_app
from kernel.scopes import vocabulary

FUZZER = "surface-fuzzer"
"""A client of its own, so its rate bucket is nobody else's."""
SURFACE = settings(
    max_examples=120,
    deadline=None,
    database=None,  # no .hypothesis directory in the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SCHEMA: GraphQLSchema = hub_schema([])._schema
MAX_DEPTH = 3

# --- values ------------------------------------------------------------------------

hostile_text = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\ud800",
        "x\udfff",
        "\u2028",
        "'; DROP TABLE worker; --",
        "%",
        "_",
        "\\",
        '"',
        "k:",
        "张三",
        "（2024）豫0183民初1234号",
        "9" * 40,
        "x" * 5000,
        "\ufeff",
        "🙂",
    ]
) | st.text(max_size=30)
months = st.sampled_from(
    ["2026-10", "1900-01", "2199-12", "0000-01", "9999-12", "1899-12", "2200-01", "2026-13"]
) | st.from_regex(r"\A\d{4}-\d{2}\Z")
dates = st.sampled_from(
    ["2026-10-31", "0001-01-01", "9999-12-31", "2026-02-30", "1-1-1"]
) | st.dates().map(str)
date_times = st.sampled_from(
    ["2026-10-31T00:00:00+00:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59+14:00"]
) | st.datetimes().map(lambda moment: moment.isoformat())
integers = st.sampled_from([0, -1, 1, 100, 101, 2**31, -(2**31) - 1, 2**53, 2**63, 10**30])
integers |= st.integers(-1000, 1000)
cursors = st.sampled_from(["", "!!!", "k:"]) | st.binary(max_size=24).map(
    lambda raw: base64.urlsafe_b64encode(b"k:" + raw).decode()
)


@dataclass(frozen=True)
class World:
    """Keys that exist in the seeded world, so generated look-ups reach the databases."""

    id_numbers: list[str]
    usccs: list[str]
    project_codes: list[str]
    case_numbers: list[str]

    @functools.cached_property
    def scalars(self) -> dict[str, st.SearchStrategy[Any]]:
        """Each scalar's strategy, made once (`_scalar`)."""
        return _scalars(self)


def _scalar(name: str, world: World) -> st.SearchStrategy[Any]:
    return world.scalars.get(name, _ANY_SCALAR)


# Strategies are made once and drawn from many times, not made again for every value: a
# fresh strategy is validated and its properties worked out on its first draw, a third
# of generating an operation (the same draws, the same values).
_ANY_SCALAR = hostile_text | integers
_ONE_IN_TEN = st.integers(0, 9)
_LIST_LENGTH = st.integers(0, 3)
_BOOLEANS = st.booleans()


@functools.cache
def _enum_values(kind: GraphQLEnumType) -> st.SearchStrategy[str]:
    return st.sampled_from([*kind.values, "NOT_A_VALUE"])


@functools.cache
def _field_sets(kind: GraphQLInputObjectType) -> st.SearchStrategy[set[str]]:
    return st.sets(st.sampled_from(sorted(kind.fields)), max_size=len(kind.fields))


@functools.cache
def _selections(named: Any, at_leaves: bool) -> st.SearchStrategy[list[str]]:
    names = sorted(named.fields)
    if at_leaves:
        leaves = [n for n in names if _is_leaf(named.fields[n]) and not named.fields[n].args]
        names = leaves or ["__typename"]
    return st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)


def _scalars(world: World) -> dict[str, st.SearchStrategy[Any]]:
    pick = st.sampled_from
    return {
        "String": pick(world.project_codes) | hostile_text,
        "ID": hostile_text,
        "IdNumber": pick(world.id_numbers) | hostile_text,
        "USCC": pick(world.usccs) | hostile_text,
        "CaseNumber": pick(world.case_numbers) | hostile_text,
        "YearMonth": months,
        "Date": dates,
        "DateTime": date_times,
        "Int": integers,
        "Float": st.floats(allow_nan=False, allow_infinity=False),
        "Fen": integers,
        "Boolean": st.booleans(),
        "RegionCodePrefix": pick(["41", "4101", "410183", "", "4101830", "x1"]),
    }


def _value(draw: st.DrawFn, kind: GraphQLInputType, world: World, depth: int = 0) -> Any:
    if isinstance(kind, GraphQLNonNull):
        return _value(draw, kind.of_type, world, depth)
    if draw(_ONE_IN_TEN) == 0:
        return None
    if isinstance(kind, GraphQLList):
        return [_value(draw, kind.of_type, world, depth + 1) for _ in range(draw(_LIST_LENGTH))]
    if isinstance(kind, GraphQLEnumType):
        return draw(_enum_values(kind))
    if isinstance(kind, GraphQLInputObjectType):
        if depth > 3:
            return {}
        chosen = draw(_field_sets(kind))
        return {name: _value(draw, kind.fields[name].type, world, depth + 1) for name in chosen}
    assert isinstance(kind, GraphQLScalarType)
    return draw(_scalar(kind.name, world))


def _literal(value: Any, kind: GraphQLInputType) -> str:
    """A value written as a GraphQL literal (JSON's string escapes are GraphQL's)."""
    named = get_named_type(kind)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item, kind) for item in value) + "]"
    if isinstance(value, dict):
        assert isinstance(named, GraphQLInputObjectType)
        members = (f"{k}: {_literal(v, named.fields[k].type)}" for k, v in value.items())
        return "{" + ", ".join(members) + "}"
    if isinstance(named, GraphQLEnumType) and isinstance(value, str):
        return value
    return json.dumps(value)


# --- operations ----------------------------------------------------------------------


class _Operation:
    def __init__(self, draw: st.DrawFn, world: World) -> None:
        self.draw = draw
        self.world = world
        self.declarations: list[str] = []
        self.variables: dict[str, Any] = {}

    def arguments(self, arguments: dict[str, GraphQLArgument]) -> str:
        written = []
        for name, argument in arguments.items():
            required = isinstance(argument.type, GraphQLNonNull)
            if not required and not self.draw(_BOOLEANS):
                continue
            if name == "after":
                value: Any = self.draw(cursors)
            elif name == "first":
                value = self.draw(integers)
            else:
                value = _value(self.draw, argument.type, self.world)
            if self.draw(_BOOLEANS):
                variable = f"v{len(self.declarations)}"
                self.declarations.append(f"${variable}: {argument.type}")
                self.variables[variable] = value
                written.append(f"{name}: ${variable}")
            else:
                written.append(f"{name}: {_literal(value, argument.type)}")
        return f"({', '.join(written)})" if written else ""

    def selection(self, kind: Any, depth: int) -> str:
        named = get_named_type(kind)
        if isinstance(named, GraphQLUnionType):
            return "{ __typename }"
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            return ""
        chosen = self.draw(_selections(named, depth >= MAX_DEPTH))
        return "{ " + " ".join(self.field(named, name, depth) for name in chosen) + " }"

    def field(self, parent: Any, name: str, depth: int) -> str:
        if name == "__typename":
            return name
        definition: GraphQLField = parent.fields[name]
        return (
            f"{name}{self.arguments(definition.args)} {self.selection(definition.type, depth + 1)}"
        )

    def document(self) -> str:
        root = self.draw(st.sampled_from(sorted(SCHEMA.query_type.fields)))  # type: ignore[union-attr]
        body = self.field(SCHEMA.query_type, root, 0)
        declared = f"({', '.join(self.declarations)})" if self.declarations else ""
        return f"query Q{declared} {{ {body} }}"


def _is_leaf(field: GraphQLField) -> bool:
    return not isinstance(
        get_named_type(field.type), GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
    )


_ONE_IN_FIVE = st.integers(0, 4)
_OPERATION_NAMES = st.sampled_from(["Q", "R", None]) | hostile_text
_EXTENSIONS = st.dictionaries(hostile_text, hostile_text | integers, max_size=2)


@st.composite
def operations(draw: st.DrawFn, world: World) -> dict[str, Any]:
    operation = _Operation(draw, world)
    payload: dict[str, Any] = {"query": operation.document(), "variables": operation.variables}
    if draw(_ONE_IN_FIVE) == 0:
        payload["operationName"] = draw(_OPERATION_NAMES)
    if draw(_ONE_IN_FIVE) == 0:
        payload["extensions"] = draw(_EXTENSIONS)
    return payload


def _sendable(raw: bytes) -> bool:
    """Bytes an HTTP client sends as a header value: visible ASCII, obs-text (0x80-0xFF),
    and spaces or tabs between them (h11 refuses the rest before they leave)."""
    return all(byte in (9, 32) or 0x21 <= byte <= 0x7E or byte >= 0x80 for byte in raw)


header_values = (
    (
        st.binary(max_size=60)
        | st.text(max_size=30).map(lambda t: t.encode("utf-8", "surrogatepass"))
    )
    .map(lambda raw: raw.strip(b" \t"))
    .filter(_sendable)
)
"""Whatever a client can put in a header."""


def _form(fields: dict[str, str]) -> bytes:
    """Form-encoded, surrogates and all (they become bytes that are not UTF-8)."""
    return urlencode(fields, encoding="utf-8", errors="surrogatepass").encode("ascii")


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def surface(hub: RunningHub) -> Iterator[tuple[RunningHub, httpx.Client, World]]:
    if FUZZER not in hub.secrets:
        hub.secrets[FUZZER] = hub.auth.add_client(
            FUZZER, Grant("test", vocabulary(), (TEST_PURPOSE,))
        )
    data = hub.data(
        "{ workers(first: 10) { nodes { idNumber } } enterprises(first: 10) { nodes { uscc } }"
        " projects(first: 10) { nodes { code } } disputeCases(first: 10) { nodes { caseNumber } } }"
    )
    world = World(
        [n["idNumber"] for n in data["workers"]["nodes"]],
        [n["uscc"] for n in data["enterprises"]["nodes"]],
        [n["code"] for n in data["projects"]["nodes"]],
        [n["caseNumber"] for n in data["disputeCases"]["nodes"]],
    )
    with httpx.Client(
        base_url=hub.url,
        timeout=60,
        auth=ClientCredentials(FUZZER, hub.secrets[FUZZER]),
        headers={"X-Purpose": TEST_PURPOSE},
    ) as client:
        yield hub, client, world


def _answered(response: httpx.Response) -> dict[str, Any] | list[Any]:
    """Not a 500, JSON, with a request id; the body."""
    assert response.status_code < 500, response.text
    assert response.headers.get("x-request-id"), response.headers
    assert response.headers["content-type"].startswith("application/json"), response.text
    body: dict[str, Any] | list[Any] = response.json()
    return body


def _no_internal_errors(body: dict[str, Any] | list[Any]) -> None:
    for answer in body if isinstance(body, list) else [body]:
        codes = {error["extensions"]["code"] for error in answer.get("errors") or ()}
        assert "INTERNAL_SERVER_ERROR" not in codes, answer


@SURFACE
@given(data=st.data())
def test_graphql_operations_never_fail_inside(
    surface: tuple[RunningHub, httpx.Client, World], data: st.DataObject
) -> None:
    _, client, world = surface
    payload = data.draw(operations(world))
    headers = {"content-type": "application/json"}
    if data.draw(st.integers(0, 5)) == 0:
        headers["x-purpose-reference"] = data.draw(header_values)  # type: ignore[assignment]
    body = json.dumps(payload).encode()  # ASCII: a lone surrogate travels as \ud800
    _no_internal_errors(_answered(client.post("/graphql", content=body, headers=headers)))


@SURFACE
@given(
    purpose=st.sampled_from([TEST_PURPOSE.encode()]) | header_values,
    reference=header_values,
    authorization=st.sampled_from([b"", b"Bearer", b"Bearer x.y.z", b"Basic Og=="]) | header_values,
)
def test_headers_never_fail_inside(
    surface: tuple[RunningHub, httpx.Client, World],
    purpose: bytes,
    reference: bytes,
    authorization: bytes,
) -> None:
    hub, client, _ = surface
    headers = {"x-purpose": purpose, "x-purpose-reference": reference}
    payload = {"query": "{ __typename }"}
    _answered(client.post("/graphql", json=payload, headers=headers))
    with httpx.Client(base_url=hub.url, timeout=30) as anonymous:
        headers["authorization"] = authorization
        _answered(anonymous.post("/graphql", json=payload, headers=headers))


@SURFACE
@given(
    form=st.dictionaries(
        st.sampled_from(["grant_type", "scope", "client_id", "client_secret"]) | hostile_text,
        st.sampled_from(["client_credentials", "password", FUZZER]) | hostile_text,
        max_size=4,
    ),
    basic=st.none() | st.binary(max_size=40),
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "application/json", "", "multipart/form-data"]
    ),
    raw=st.none() | st.binary(max_size=200),
)
def test_the_token_endpoint_never_fails_inside(
    surface: tuple[RunningHub, httpx.Client, World],
    form: dict[str, str],
    basic: bytes | None,
    content_type: str,
    raw: bytes | None,
) -> None:
    hub, _, _ = surface
    headers = {"content-type": content_type}
    if basic:
        headers["authorization"] = "Basic " + base64.b64encode(basic).decode()
    content = raw if raw is not None else _form(form)
    with httpx.Client(base_url=hub.url, timeout=30) as anonymous:
        _answered(anonymous.post("/oauth/token", content=content, headers=headers))


@pytest.fixture(scope="module")
def housing_load(hub: RunningHub) -> Iterator[tuple[str, dict[str, str]]]:
    with serving(create_subgraph_app("housing", hub.settings, delegates=["hub"])) as url:
        headers = {
            "Authorization": f"Bearer {hub.exchanged('hub', 'housing-bureau-xinmi', 'housing')}",
            "X-Purpose": "supervision",
            "content-type": "application/json",
        }
        yield f"{url}/connector/load", headers


HOUSING = next(c for c in discover() if c.name == "housing").loaders
wire_scalars = hostile_text | integers | st.none() | st.booleans() | st.floats()
wire_values = st.recursive(
    wire_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["$tuple", "$date", "$datetime", "$decimal", "$row", "$record"])
            | hostile_text,
            inner,
            min_size=1,
            max_size=2,
        )
    ),
    max_leaves=12,
)
calls = st.one_of(
    st.fixed_dictionaries(
        {
            "loader": st.sampled_from(sorted(HOUSING.loader_specs())) | hostile_text,
            "keys": st.lists(wire_values, max_size=4),
        }
    ),
    st.fixed_dictionaries(
        {
            "query": st.sampled_from(sorted(HOUSING.served_queries())) | hostile_text,
            "args": st.lists(wire_values, max_size=4),
        }
    ),
    wire_values,
)


@SURFACE
@given(body=st.fixed_dictionaries({"calls": st.lists(calls, max_size=3)}) | wire_values)
def test_connector_loads_never_fail_inside(
    housing_load: tuple[str, dict[str, str]], body: Any
) -> None:
    url, headers = housing_load
    response = httpx.post(url, content=json.dumps(body).encode(), headers=headers, timeout=30)
    _answered(response)


@SURFACE
@given(
    query=st.dictionaries(hostile_text, hostile_text, max_size=3),
    accept=header_values,
)
def test_readiness_never_fails_inside(
    surface: tuple[RunningHub, httpx.Client, World], query: dict[str, str], accept: bytes
) -> None:
    hub, _, _ = surface
    url = f"{hub.url}/readyz?{_form(query).decode()}"
    response = httpx.get(url, headers={"accept": accept}, timeout=30)
    body = _answered(response)  # a URL past the server's limit is its JSON 400
    assert response.status_code == 200 or body == {
        "error": "invalid_request",
        "error_description": "malformed HTTP request",
    }, body
