"""Generated documents and random bytes sent to /graphql: never a 500, the process stays
up, and every refusal passes through `hub.limits.refusal.record`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from limits_support import limited_hub

from hub.limits import refusal

TOKENS = [
    "{", "}", "(", ")", "[", "]", ":", "...", "$v", "query", "fragment F on Query", "on",
    "Query", "Worker", "worker", "workers", "nodes", "project", "projects", "registrations",
    "code", "name", "first:", "100", "-1", "idNumber:", '"341226196603139011"', '"x"',
    "a:", "@include(if: true)", "@skip(if: $v)", "__schema", "__type", "__typename",
    "...F", "... on Project", "types", "fields", "#", "\n", "\\u0000", '"""',
]  # fmt: skip

documents = st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join) | st.text(max_size=200)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=30,
)
payloads = st.fixed_dictionaries(
    {"query": documents},
    optional={"variables": json_values, "operationName": st.text(max_size=5) | st.none()},
)


class Refusals(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Refusals]]:
    handler = Refusals()
    refusal.log.addHandler(handler)
    refusal.log.setLevel(logging.INFO)
    data_dir = tmp_path_factory.mktemp("fuzz")
    try:
        with limited_hub(data_dir, rate_limits={"default": "off"}) as running:
            yield running.client(), handler
            assert running.client().get("/healthz").json() == {"status": "ok"}
    finally:
        refusal.log.removeHandler(handler)
        refusal.log.setLevel(logging.NOTSET)


def _refused(response: httpx.Response) -> bool:
    """Refused by a limit: an HTTP refusal, or a GraphQL error with a limit's code."""
    body = response.json()
    codes = {error["extensions"]["code"] for error in body.get("errors") or ()}
    return response.status_code != 200 or bool(codes & refusal.LIMIT_CODES)


FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,  # no .hypothesis directory in the repository
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(payload=payloads)
def test_generated_operations_never_500(
    fuzzed: tuple[httpx.Client, Refusals], payload: dict[str, object]
) -> None:
    client, refusals = fuzzed
    before = refusals.count
    response = client.post("/graphql", json=payload)
    assert response.status_code < 500, response.text
    if _refused(response):
        assert refusals.count > before, f"refusal not recorded: {response.text}"


@FUZZ
@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from(["application/json", "text/plain", ""]),
)
def test_random_bytes_never_500(
    fuzzed: tuple[httpx.Client, Refusals], body: bytes, content_type: str
) -> None:
    client, refusals = fuzzed
    before = refusals.count
    response = client.post("/graphql", content=body, headers={"content-type": content_type})
    assert response.status_code < 500, response.text
    if _refused(response):
        assert refusals.count > before, f"refusal not recorded: {response.text}"
