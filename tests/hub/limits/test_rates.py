"""Token buckets per client: the rate syntax, the bucket arithmetic (in process and in
Redis), and 429 with Retry-After from a served hub, for one client only."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from limits_support import INTROSPECTOR, PLAIN, LimitedHub, limited_hub
from redis.asyncio import Redis

from hub.limits.rates import LocalBuckets, Rate, RedisBuckets, parse_rates

REDIS_URL = "redis://127.0.0.1:6379/0"
TIGHT = {"default": "off", PLAIN: "1/m burst 2"}


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


# CI sets HUB_TEST_REQUIRE_REDIS=1 (and starts Redis): there these tests run, never skip.
needs_redis = pytest.mark.skipif(
    not _redis_available() and os.environ.get("HUB_TEST_REQUIRE_REDIS") != "1",
    reason=f"no Redis at {REDIS_URL}",
)


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("20/s burst 40", Rate(20.0, 40)),
        ("5/s", Rate(5.0, 5)),
        ("600/m", Rate(10.0, 600)),
        ("1/h burst 3", Rate(1 / 3600, 3)),
    ],
)
def test_rates_parse(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["20", "0/s", "5/day", "fast"])
def test_a_malformed_rate_fails_at_start_up(text: str) -> None:
    with pytest.raises(ValueError, match="write it as"):
        parse_rates({"default": text})


def test_off_means_unlimited() -> None:
    assert parse_rates({"bank": "off"}) == {"bank": None}


def _takes(buckets: LocalBuckets | RedisBuckets, key: str, rate: Rate, n: int) -> list[float]:
    async def take() -> list[float]:
        return [await buckets.take(key, rate) for _ in range(n)]

    return asyncio.run(take())


def test_local_bucket_allows_the_burst_then_says_how_long_to_wait() -> None:
    waits = _takes(LocalBuckets(), "c", Rate(1.0, 3), 4)
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 0.9 < waits[3] <= 1.0


_keys = itertools.count()


@needs_redis
def test_redis_bucket_allows_the_burst_then_says_how_long_to_wait() -> None:
    key = f"test-{next(_keys)}"
    redis.Redis.from_url(REDIS_URL).delete(f"hub:rate:{key}")

    async def take() -> list[float]:
        client = Redis.from_url(REDIS_URL)
        try:
            buckets = RedisBuckets(client)
            return [await buckets.take(key, Rate(1.0, 3)) for _ in range(4)]
        finally:
            await client.aclose()

    waits = asyncio.run(take())
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 0.9 < waits[3] <= 1.0


def test_an_unreachable_redis_falls_back_to_buckets_in_process() -> None:
    async def take() -> list[float]:
        client = Redis.from_url("redis://127.0.0.1:1/0")
        try:
            buckets = RedisBuckets(client)
            return [await buckets.take("c", Rate(1.0, 1)) for _ in range(2)]
        finally:
            await client.aclose()

    waits = asyncio.run(take())
    assert waits[0] == 0.0
    assert waits[1] > 0


def _assert_limited(running: LimitedHub) -> None:
    plain = running.client(PLAIN)
    statuses = [plain.post("/graphql", json={"query": "{ __typename }"}) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[2].json()["error"] == "rate_limited"
    assert 1 <= int(statuses[2].headers["retry-after"]) <= 60
    other = running.client(INTROSPECTOR).post("/graphql", json={"query": "{ __typename }"})
    assert other.status_code == 200


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path


def test_a_client_over_its_rate_gets_429_and_others_do_not(data_dir: Path) -> None:
    with limited_hub(data_dir, rate_limits=TIGHT) as running:
        _assert_limited(running)


@needs_redis
def test_buckets_in_redis_are_shared_by_processes(data_dir: Path) -> None:
    redis.Redis.from_url(REDIS_URL).delete(f"hub:rate:{PLAIN}")
    with limited_hub(data_dir, rate_limits=TIGHT, redis_url=REDIS_URL) as first:
        _assert_limited(first)
        with limited_hub(data_dir / "second", rate_limits=TIGHT, redis_url=REDIS_URL) as second:
            response = second.client(PLAIN).post("/graphql", json={"query": "{ __typename }"})
            assert response.status_code == 429


@pytest.fixture(autouse=True)
def _clean_redis() -> Iterator[None]:
    yield
    if _redis_available():
        redis.Redis.from_url(REDIS_URL).delete(f"hub:rate:{PLAIN}")
