"""GraphQL over Server-Sent Events (`/graphql/stream`, graphql-sse's distinct connections
mode) on a real uvicorn: a dashboard-like HR client's stream receives the events raised
after it opened, each as that client may see it, with the event id as the SSE id; a stream
reopened with Last-Event-ID resumes after it; a query is one `next` and `complete`; no
token is a 401 before any stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from alerts.evaluation import evaluate
from alerts.store import AlertStore
from conftest import SEED, ClientCredentials, RunningHub
from hub.wiring import build_alert_store, build_observer
from hub_support import Stores, make_stores, running_hub
from synthetic.stories import stories

EVENTS = """subscription { warningEvents(kinds: [PROJECT_WARNING], regionCodePrefix: "4101") {
  id kind projectCode payload } }"""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stores, AlertStore, RunningHub]]:
    stores = make_stores(
        request.param, tmp_path_factory.mktemp(request.param), "alerts_sse", seeded="demo"
    )
    store = build_alert_store(stores.settings)
    with running_hub(stores) as hub:
        yield stores, store, hub
    store.close()


def _client(hub: RunningHub) -> httpx.Client:
    return httpx.Client(
        base_url=hub.url,
        timeout=httpx.Timeout(30, read=60),
        auth=ClientCredentials("hr-bureau-xinmi", hub.secrets["hr-bureau-xinmi"]),
        headers={"X-Purpose": "supervision"},
    )


def _token(hub: RunningHub) -> str:
    secret = hub.secrets["hr-bureau-xinmi"]
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        answer = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("hr-bureau-xinmi", secret),
        )
    return str(answer.json()["access_token"])


@contextlib.contextmanager
def _reading(hub: RunningHub, headers: dict[str, str]) -> Iterator[queue.Queue[dict[str, str]]]:
    """The stream's frames, parsed in a thread into the queue until the stream ends or the
    test does (a plain bearer header: httpx's auth flows read whole responses). At the
    end its connection is shut down and the thread joined: a stream left open would hold
    the server's stop for its graceful-shutdown wait."""
    frames: queue.Queue[dict[str, str]] = queue.Queue()
    opened: queue.Queue[socket.socket] = queue.Queue()
    stopping = threading.Event()
    sent = {"Authorization": f"Bearer {_token(hub)}", "X-Purpose": "supervision", **headers}

    def read() -> None:
        try:
            with (
                httpx.Client(base_url=hub.url, timeout=httpx.Timeout(30, read=120)) as client,
                client.stream(
                    "POST", "/graphql/stream", json={"query": EVENTS}, headers=sent
                ) as got,
            ):
                opened.put(got.extensions["network_stream"].get_extra_info("socket"))
                assert got.status_code == 200
                assert got.headers["content-type"].startswith("text/event-stream")
                frame: dict[str, str] = {}
                for line in got.iter_lines():
                    if not line:
                        if frame:
                            frames.put(frame)
                        frame = {}
                    elif not line.startswith(":"):
                        field, _, value = line.partition(": ")
                        frame[field] = value
        except httpx.HTTPError:
            if not stopping.is_set():
                raise

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield frames
    finally:
        stopping.set()
        with contextlib.suppress(queue.Empty, OSError):
            opened.get(timeout=30).shutdown(socket.SHUT_RDWR)
        reader.join(timeout=30)
        assert not reader.is_alive(), "the stream's reader did not stop"


def _next(frames: queue.Queue[dict[str, str]]) -> dict[str, Any]:
    frame = frames.get(timeout=30)
    assert frame["event"] == "next", frame
    return {"id": frame.get("id"), **json.loads(frame["data"])}


def _evaluate(stores: Stores, store: AlertStore) -> None:
    async def run() -> None:
        connectors = list(stores.connectors.values())
        await evaluate(build_observer(stores.settings, connectors), store)
        for connector in connectors:
            await connector.dispose()

    asyncio.run(run())


def test_a_stream_gets_new_events_as_its_client_and_resumes(
    world: tuple[Stores, AlertStore, RunningHub],
) -> None:
    stores, store, hub = world
    story = stories(SEED)
    with _reading(hub, {}) as frames:
        time.sleep(1.5)  # the stream starts from now: open it before the events
        _evaluate(stores, store)
        seen = [_next(frames) for _ in range(3)]  # the 新密市 RED, YELLOW and BLUE projects
    events = [s["data"]["warningEvents"] for s in seen]
    assert {e["kind"] for e in events} == {"PROJECT_WARNING"}
    assert story.arrears_project_code in {e["projectCode"] for e in events}
    red = next(e for e in events if e["projectCode"] == story.arrears_project_code)
    assert red["payload"]["data"]["graph"]["project"]["compliance"]["level"] == "RED"
    assert [s["id"] for s in seen] == [e["id"] for e in events]

    first = seen[0]["id"]
    with _reading(hub, {"Last-Event-ID": str(first)}) as resumed:
        after = [_next(resumed)["data"]["warningEvents"]["id"] for _ in range(2)]
    assert after == [e["id"] for e in events[1:]]


def test_a_query_over_the_stream_is_one_next_then_complete(
    world: tuple[Stores, AlertStore, RunningHub],
) -> None:
    _, _, hub = world
    with _client(hub) as client:
        got = client.post("/graphql/stream", json={"query": "{ warningSubscriptions { id } }"})
    assert got.status_code == 200
    frames = [f for f in got.text.split("\n\n") if f and not f.startswith(":")]
    assert frames[0].startswith("event: next\ndata: ")
    assert json.loads(frames[0].split("data: ", 1)[1]) == {"data": {"warningSubscriptions": []}}
    assert got.text.endswith("event: complete\ndata: \n\n")
    with httpx.Client(base_url=hub.url) as anonymous:
        refused = anonymous.post("/graphql/stream", json={"query": EVENTS})
    assert refused.status_code == 401


def test_the_stream_holds_requests_to_the_graphql_limits(
    world: tuple[Stores, AlertStore, RunningHub],
) -> None:
    """The body and document limits of `/graphql` hold on the stream too, over POST and
    over the GET an EventSource opens: refused before any stream starts."""
    _, _, hub = world
    with _client(hub) as client:
        padded = {"query": "{ warningSubscriptions { id } }", "variables": {"x": "x" * 300_000}}
        too_large = client.post("/graphql/stream", json=padded)
        assert (too_large.status_code, too_large.json()["error"]) == (413, "request_too_large")
        batch = [{"query": "{ warningSubscriptions { id } }"}] * 2
        assert client.post("/graphql/stream", json=batch).json()["error"] == "batching_disabled"
        long_document = "{ warningSubscriptions { id } }" + " " * 20_000
        for got in (
            client.post("/graphql/stream", json={"query": long_document}),
            client.get("/graphql/stream", params={"query": long_document}),
        ):
            assert got.headers["content-type"].startswith("application/json"), got.text
            assert got.json()["errors"][0]["extensions"]["code"] == "DOCUMENT_TOO_LARGE"
        deep = json.dumps({"a": [[[[[[[[[[1]]]]]]]]]]})
        nested = client.get("/graphql/stream", params={"query": EVENTS, "variables": deep})
        assert nested.json()["errors"][0]["extensions"]["code"] == "VARIABLES_TOO_DEEP"
        broken = client.get("/graphql/stream", params={"query": EVENTS, "variables": "{"})
        assert (broken.status_code, broken.json()["error"]) == (400, "invalid_json")
        query = {"query": "{ warningSubscriptions { id } }"}
        fine = client.get("/graphql/stream", params=query)
    assert fine.text.endswith("event: complete\ndata: \n\n")
    assert json.loads(fine.text.split("data: ", 1)[1].split("\n")[0]) == {
        "data": {"warningSubscriptions": []}
    }
