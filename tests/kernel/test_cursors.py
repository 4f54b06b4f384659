"""Page cursors are opaque and tamper-evident: a caller who sees ID numbers masked reads
nothing from a cursor, and a cursor it made, altered or took from another list is
BAD_USER_INPUT. Replicas sharing `HUB_PAGES_CURSOR_SECRET` open each other's cursors."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import pytest
from pydantic import SecretStr

from conftest import RunningHub
from grants import register_client
from hub.settings import HubSettings
from hub.wiring import build_cursors
from kernel.context import PageLimits
from kernel.errors import BadUserInput
from kernel.scopes import PROJECT_READ, WORKER_EMPLOYMENT

MASKED = "test-masked-lister"
"""Lists workers in Zhengzhou and sees their ID numbers masked (no worker:identity)."""
WORKERS = """query($after: String) { workers(first: 7, after: $after) {
  edges { cursor node { idNumber } } pageInfo { endCursor hasNextPage } } }"""


@pytest.fixture
def masked(hub: RunningHub) -> Any:
    register_client(hub, MASKED, (WORKER_EMPLOYMENT, PROJECT_READ), {"regions": ("4101",)})
    return hub.as_client(MASKED)


def _ask(client: Any, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": document, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _decoded(cursor: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        return b""


def test_a_cursor_tells_a_masked_caller_nothing(hub: RunningHub, masked: Any) -> None:
    body = _ask(masked, WORKERS)
    assert "errors" not in body, body
    edges = body["data"]["workers"]["edges"]
    assert edges
    assert all("*" in edge["node"]["idNumber"] for edge in edges)
    clear = [
        node["idNumber"]
        for node in hub.data(
            '{ workers(first: 100, filter: {siteRegionCodePrefix: "4101"}) { nodes { idNumber } } }'
        )["workers"]["nodes"]
    ]
    assert len(clear) < 100
    for edge in edges:
        for text in (edge["cursor"].encode(), _decoded(edge["cursor"])):
            # not the ID number, nor its hidden middle (birth date and region digits)
            assert not any(number[3:14].encode() in text for number in clear), edge["cursor"]


def test_cursors_page_through_the_whole_list(masked: Any) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = _ask(masked, WORKERS, {"after": after})["data"]["workers"]
        seen += [edge["cursor"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    total = _ask(masked, "{ workers { totalCount } }")["data"]["workers"]["totalCount"]
    assert len(seen) == len(set(seen)) == total


def _refused(client: Any, document: str, after: str) -> None:
    body = _ask(client, document, {"after": after})
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert not after or after not in error["message"]
    assert not body["data"] or not any(body["data"].values())


def test_a_forged_cursor_is_refused(hub: RunningHub, masked: Any) -> None:
    """The old format, `base64("k:" + key)`, let a caller seek to any guessed key."""
    guess = hub.data("{ workers(first: 1) { nodes { idNumber } } }")["workers"]["nodes"][0]
    for key in (guess["idNumber"], guess["idNumber"][:6]):
        _refused(masked, WORKERS, base64.urlsafe_b64encode(f"k:{key}".encode()).decode())
    _refused(masked, WORKERS, "")
    _refused(masked, WORKERS, "A" * 5000)
    _refused(masked, WORKERS, "\x00ABC")


def test_an_altered_cursor_is_refused(masked: Any) -> None:
    cursor = _ask(masked, WORKERS)["data"]["workers"]["pageInfo"]["endCursor"]
    raw = bytearray(_decoded(cursor))
    for position in (0, 1, len(raw) // 2, len(raw) - 1):
        altered = bytearray(raw)
        altered[position] ^= 0x01
        _refused(masked, WORKERS, base64.urlsafe_b64encode(bytes(altered)).rstrip(b"=").decode())
    _refused(masked, WORKERS, cursor[:-2])


def test_a_cursor_from_another_list_is_refused(masked: Any) -> None:
    projects = "query($after: String) { projects(first: 1, after: $after) { nodes { code } } }"
    cursor = _ask(masked, "{ projects(first: 1) { pageInfo { endCursor } } }")["data"]
    _refused(masked, WORKERS, cursor["projects"]["pageInfo"]["endCursor"])
    worker_cursor = _ask(masked, WORKERS)["data"]["workers"]["pageInfo"]["endCursor"]
    _refused(masked, projects, worker_cursor)


def _settings(tmp_path: Any, secret: str | None) -> HubSettings:
    pages = PageLimits(cursor_secret=SecretStr(secret) if secret else None)
    return HubSettings(data_dir=tmp_path, pages=pages)


def test_replicas_sharing_the_secret_open_each_others_cursors(tmp_path: Any) -> None:
    first = build_cursors(_settings(tmp_path / "a", "the replicas' shared secret"))
    second = build_cursors(_settings(tmp_path / "b", "the replicas' shared secret"))
    other = build_cursors(_settings(tmp_path / "c", "another deployment's secret"))
    cursor = first.seal("341226196603139011", "Query.workers")
    assert second.open(cursor, "Query.workers") == "341226196603139011"
    with pytest.raises(BadUserInput):
        other.open(cursor, "Query.workers")
    with pytest.raises(ValueError, match="16 bytes"):
        build_cursors(_settings(tmp_path / "d", "too short"))


def test_without_a_secret_the_key_is_a_private_file(tmp_path: Any) -> None:
    """Processes sharing a data directory share the key; nobody else can read it."""
    cursor = build_cursors(_settings(tmp_path, None)).seal("k", "Query.projects")
    assert build_cursors(_settings(tmp_path, None)).open(cursor, "Query.projects") == "k"
    assert (tmp_path / "keys" / "cursor.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
