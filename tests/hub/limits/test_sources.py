"""Unauthenticated floods: a source that keeps failing to authenticate is refused before
its next token is verified or its next secret hashed, the proxy headers that name a
source count only from trusted proxies, and a flood leaves a few tally records in the
audit log, not one record a request, while each authenticated refusal keeps its own."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from limits_support import PLAIN, LimitedHub, limited_hub
from sqlalchemy import select

from audit.store import record_t
from auth import hashing
from auth.tokens import TokenVerifier
from hub.limits.sources import SourceLimits
from hub.wiring import build_audit_store, build_auth_store

BURST = 5
QUERY = {"query": "{ __typename }"}


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Token verifications and scrypt derivations the process runs."""
    counts = {"verify": 0, "scrypt": 0}
    verify: Callable[..., Any] = TokenVerifier.verify
    derive: Callable[..., bytes] = hashing._derive

    async def counting_verify(self: TokenVerifier, token: str) -> Any:
        counts["verify"] += 1
        return await verify(self, token)

    def counting_derive(*args: Any) -> bytes:
        counts["scrypt"] += 1
        return derive(*args)

    monkeypatch.setattr(TokenVerifier, "verify", counting_verify)
    monkeypatch.setattr(hashing, "_derive", counting_derive)
    return counts


def _hub(data_dir: Path, **sources: Any) -> Iterator[LimitedHub]:
    data_dir.mkdir()
    limits = SourceLimits(failures=f"1/m burst {BURST}", tally_seconds=1.0, **sources)
    with limited_hub(data_dir, sources=limits, rate_limits={"default": "off"}) as running:
        yield running


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[LimitedHub]:
    yield from _hub(tmp_path / "guarded")


@pytest.fixture
def behind_a_proxy(tmp_path: Path) -> Iterator[LimitedHub]:
    yield from _hub(tmp_path / "proxied", trusted_proxies=["127.0.0.1"])


def test_a_failing_source_is_refused_before_its_token_is_verified(
    guarded: LimitedHub, counted: dict[str, int]
) -> None:
    bad = {"Authorization": "Bearer not.a.token", "X-Purpose": "testing"}
    statuses = [
        httpx.post(f"{guarded.url}/graphql", json=QUERY, headers=bad).status_code
        for _ in range(BURST + 10)
    ]
    assert statuses == [401] * BURST + [429] * 10
    assert counted["verify"] == BURST
    refused = httpx.post(f"{guarded.url}/graphql", json=QUERY, headers=bad)
    assert refused.json()["error"] == "too_many_failures"
    assert int(refused.headers["retry-after"]) >= 1


def test_a_failing_source_is_refused_before_its_secret_is_hashed(
    guarded: LimitedHub, counted: dict[str, int]
) -> None:
    def wrong_secret() -> int:
        return httpx.post(
            f"{guarded.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(PLAIN, "wrong"),
        ).status_code

    assert [wrong_secret() for _ in range(BURST + 10)] == [401] * BURST + [429] * 10
    assert counted["scrypt"] == BURST


def test_a_verified_token_still_passes_from_a_blocked_source(guarded: LimitedHub) -> None:
    """An agency behind the same address as an attacker keeps working: its token was
    verified before, so letting it through costs no cryptography."""
    client = guarded.client()
    assert client.post("/graphql", json=QUERY).status_code == 200
    bad = {"Authorization": "Bearer not.a.token"}
    for _ in range(BURST + 1):
        httpx.post(f"{guarded.url}/graphql", json=QUERY, headers=bad)
    assert httpx.post(f"{guarded.url}/graphql", json=QUERY, headers=bad).status_code == 429
    assert client.post("/graphql", json=QUERY).status_code == 200
    refused = httpx.post(
        f"{guarded.url}/oauth/token", data={"grant_type": "client_credentials"}, auth=(PLAIN, "x")
    )
    assert refused.status_code == 429  # a new token needs a secret: not from here, for now


def _fail_from(url: str, address: str, times: int) -> list[int]:
    headers = {"Authorization": "Bearer not.a.token", "X-Forwarded-For": address}
    return [
        httpx.post(f"{url}/graphql", json=QUERY, headers=headers).status_code for _ in range(times)
    ]


def test_forwarded_for_counts_only_from_a_trusted_proxy(
    guarded: LimitedHub, behind_a_proxy: LimitedHub
) -> None:
    # Not trusted: every forged address is the peer's, 127.0.0.1, which runs out.
    forged = [_fail_from(guarded.url, f"10.0.0.{i}", 1)[0] for i in range(BURST + 3)]
    assert forged == [401] * BURST + [429] * 3
    # Behind a trusted proxy: each client its own count.
    assert _fail_from(behind_a_proxy.url, "10.0.0.1", BURST + 1) == [401] * BURST + [429]
    assert _fail_from(behind_a_proxy.url, "10.0.0.2", 1) == [401]
    assert _fail_from(behind_a_proxy.url, "2001:db8::1", BURST) == [401] * BURST
    assert _fail_from(behind_a_proxy.url, "2001:db8::2", 1) == [429]  # the same /64


def _records(hub: LimitedHub) -> list[dict[str, Any]]:
    store = build_audit_store(hub.settings, build_auth_store(hub.settings))
    engine = store.database.sync_engine()
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(record_t.c.payload).order_by(record_t.c.seq))
            return [json.loads(payload) for (payload,) in rows]
    finally:
        engine.dispose()


def test_a_flood_leaves_tallies_and_authenticated_refusals_their_own_records(
    guarded: LimitedHub,
) -> None:
    no_purpose = guarded.client()
    assert no_purpose.post("/graphql", json=QUERY).status_code == 200  # its token, verified
    no_purpose.headers.pop("X-Purpose")
    before = len(_records(guarded))
    flood = 200
    ids = set()
    with httpx.Client(base_url=guarded.url) as anonymous:
        for _ in range(flood):
            ids.add(anonymous.post("/graphql", json=QUERY).headers["x-request-id"])
    own = [no_purpose.post("/graphql", json=QUERY) for _ in range(3)]
    assert {response.status_code for response in own} == {400}

    deadline = time.monotonic() + 15
    while True:
        added = _records(guarded)[before:]
        tallies = [record for record in added if "tally" in record]
        if sum(record["tally"]["count"] for record in tallies) == flood:
            break
        assert time.monotonic() < deadline, tallies
        time.sleep(0.2)
    assert len(tallies) <= 10, len(tallies)  # a few intervals × (401, 429), not 200
    assert {record["request_id"] for record in tallies} == ids
    assert {record["tally"]["source"] for record in tallies} == {"127.0.0.1"}
    assert {tuple(record["codes"]) for record in tallies} == {
        ("missing_authorization",),
        ("too_many_failures",),
    }
    authenticated = [record for record in added if "tally" not in record]
    assert [record["request_id"] for record in authenticated] == [
        response.headers["x-request-id"] for response in own
    ]
    assert {record["client_id"] for record in authenticated} == {PLAIN}
