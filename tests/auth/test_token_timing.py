"""/oauth/token answers a wrong secret, an unknown client and a revoked client alike: in
the work done (one scrypt derivation each, counted) and in time (their latencies, sampled
alternately, have medians within a ratio and neither tends to be the slower)."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from auth import hashing
from auth.store import Grant
from conftest import REAL_SECRET_COST, RunningHub

FORM = {"grant_type": "client_credentials"}
TRIALS = 25
MEDIAN_RATIO = 1.5
"""Medians within this ratio of each other; one scrypt is ~40 ms, the rest ~5-10 ms."""
SUPERIORITY_BAND = (0.2, 0.8)
"""P(known slower than unknown), estimated from every pair of samples (Mann-Whitney's U
over n²): 0.5 when the two are alike, ~1.0 when one does more work. With 25 samples each
its standard deviation is ~0.08, so the band is ~3.6 deviations wide on either side."""


@pytest.fixture(autouse=True, scope="module")
def real_cost() -> Iterator[None]:
    """The suite hashes client secrets cheaply (`conftest.TEST_SECRET_COST`); the timings
    here are of the real cost, a scrypt against the rest of a refusal."""
    cheap, hashing._N = hashing._N, REAL_SECRET_COST
    try:
        yield
    finally:
        hashing._N = cheap


def test_client_secrets_are_hashed_at_the_real_cost() -> None:
    """16 MiB and ~40 ms a check (`auth.hashing`), for new secrets and refusals alike."""
    assert hashing.hash_secret("a secret").startswith("scrypt$16384$8$1$")
    assert hashing._no_secret().startswith("scrypt$16384$8$1$")


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every scrypt derivation the process runs, by the secret it derives from."""
    seen: list[str] = []
    real: Callable[..., bytes] = hashing._derive

    def counting(secret: str, *args: Any) -> bytes:
        seen.append(secret)
        return real(secret, *args)

    monkeypatch.setattr(hashing, "_derive", counting)
    return seen


def _client(hub: RunningHub, *, revoked: bool = False) -> str:
    client_id = f"timing-{uuid.uuid4().hex[:8]}"
    hub.auth.add_client(client_id, Grant("test", ("project:read",), ("testing",)))
    if revoked:
        hub.auth.revoke(client_id)
    return client_id


def _refused(client: httpx.Client, client_id: str, secret: str) -> float:
    started = time.perf_counter()
    response = client.post("/oauth/token", data=FORM, auth=(client_id, secret))
    elapsed = time.perf_counter() - started
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    return elapsed


def test_each_refusal_derives_one_hash(
    hub: RunningHub, anonymous: httpx.Client, derivations: list[str]
) -> None:
    known, revoked = _client(hub), _client(hub, revoked=True)
    for client_id, secret in (
        (known, "wrong-secret-1"),
        (f"nobody-{uuid.uuid4().hex}", "wrong-secret-2"),
        (revoked, "wrong-secret-3"),
    ):
        before = len(derivations)
        _refused(anonymous, client_id, secret)
        assert derivations[before:] == [secret], client_id


def _superiority(slower: list[float], faster: list[float]) -> float:
    """The share of pairs where `slower` is the slower (ties count half)."""
    wins = sum((a > b) + 0.5 * (a == b) for a in slower for b in faster)
    return wins / (len(slower) * len(faster))


def test_a_wrong_secret_and_an_unknown_client_take_alike(
    hub: RunningHub, anonymous: httpx.Client
) -> None:
    known = _client(hub)
    _refused(anonymous, known, "warm-up")
    wrong_secret, unknown = [], []
    for trial in range(TRIALS):  # alternately, so the machine's drift hits both alike
        wrong_secret.append(_refused(anonymous, known, f"wrong-{trial}"))
        unknown.append(_refused(anonymous, f"nobody-{trial}-{uuid.uuid4().hex}", "x"))
    medians = statistics.median(wrong_secret), statistics.median(unknown)
    assert max(medians) / min(medians) < MEDIAN_RATIO, medians
    low, high = SUPERIORITY_BAND
    assert low < _superiority(wrong_secret, unknown) < high, (wrong_secret, unknown)
