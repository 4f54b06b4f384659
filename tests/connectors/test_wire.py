"""The connector wire keeps the types resolvers rely on, and refuses what the protocol
does not allow (`connectors.wire`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import column, create_engine, select, table

from connectors.housing.loaders import ProjectFilter
from connectors.wire import (
    WireError,
    calls_of,
    decode,
    encode,
    load_call,
    query_call,
    request_body,
    response_body,
    results_of,
)


def test_the_wire_keeps_types() -> None:
    values = [
        date(2026, 10, 1),
        datetime(2026, 10, 1, 8, 30, tzinfo=UTC),
        Decimal("12.50"),
        ("410183202503171901", "2026-10"),
        [None, True, 3, "（2026）豫0183民初1024号"],
    ]
    assert decode(encode(values)) == values
    assert type(decode(encode(values))[3]) is tuple


def test_a_row_travels_with_its_column_names() -> None:
    engine = create_engine("sqlite://")
    worker = table("worker", column("id_number"), column("name"))
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE worker (id_number TEXT, name TEXT)")
        connection.exec_driver_sql("INSERT INTO worker VALUES ('410183199001011234', '张三')")
        [row] = connection.execute(select(worker)).all()
    engine.dispose()
    [decoded] = results_of(response_body([row]), 1)
    assert decoded.id_number == "410183199001011234"
    assert decoded.name == "张三"


def test_a_record_argument_arrives_as_its_fields() -> None:
    """The agency rebuilds the dataclass from its declared parameter type
    (`connectors.serving`); on the wire it is a plain mapping."""
    criteria = ProjectFilter(region_prefix="4101")
    [call] = calls_of({"calls": [query_call("projects_page", (criteria, None, 20))]})
    [fields, after, limit] = decode(call["args"])
    assert ProjectFilter(**fields) == criteria
    assert (after, limit) == (None, 20)


def test_a_request_body_is_utf8_json_of_its_calls() -> None:
    body = request_body([load_call("worker", ["410183199001011234"])])
    assert body.decode() == '{"calls": [{"loader": "worker", "keys": ["410183199001011234"]}]}'


@pytest.mark.parametrize(
    "message",
    [
        {"$date": "yesterday"},
        {"$eval": "1"},
        {"$row": ["x"]},
        {"$date": 1, "$tuple": []},
        # Decimal("") raises InvalidOperation (not a ValueError): the agency answered 500
        [{"$decimal": ""}],
        {"$decimal": "1,5"},
        {"$decimal": "NaN"},
        {"$decimal": "-Infinity"},
        {"$decimal": "sNaN"},
    ],
)
def test_the_wire_refuses_malformed_values(message: object) -> None:
    with pytest.raises(WireError):
        decode(message)


@pytest.mark.parametrize(
    ("body", "expected"),
    [({"results": []}, 1), ({"results": [1, 2]}, 1), ({"rows": [1]}, 1), ([1], 1)],
)
def test_an_answer_that_does_not_match_the_calls_is_refused(body: object, expected: int) -> None:
    with pytest.raises(WireError):
        results_of(body, expected)


def test_what_cannot_travel_is_refused_before_sending() -> None:
    with pytest.raises(TypeError, match="cannot send a set"):
        encode({"a set"})
