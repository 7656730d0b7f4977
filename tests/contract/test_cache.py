"""The cache port (`market.infra.cache.Cache`): in process, and in Redis when MARKET_TEST_REDIS_URL is set
(e.g. redis://127.0.0.1:6379/15; scripts/test points it at the Redis `market up` starts). A cache that
cannot reach Redis answers misses, never an error, and forgets what it was told to once Redis is back."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from market.infra.cache import Cache, MemoryCache, RedisCache, redis_client
from market.kernel.clock import ManualClock

REDIS_ENV = "MARKET_TEST_REDIS_URL"


class Clocked:
    """A cache with a way to let time pass: the clock's for memory, real time for Redis."""

    def __init__(self, cache: Cache, clock: ManualClock | None) -> None:
        self.cache, self._clock = cache, clock

    async def wait(self, seconds: float) -> None:
        if self._clock is not None:
            self._clock.advance(timedelta(seconds=seconds))
        else:
            await asyncio.sleep(seconds)


@pytest.fixture(params=["memory", "redis"])
async def cached(request: pytest.FixtureRequest) -> AsyncIterator[Clocked]:
    name = f"test{uuid.uuid4().hex[:8]}"
    if request.param == "memory":
        clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
        yield Clocked(MemoryCache(name, clock, size=100), clock)
        return
    url = os.environ.get(REDIS_ENV)
    if not url:
        if os.environ.get("MARKET_TEST_REQUIRE_SERVERS") == "1":
            pytest.fail(f"{REDIS_ENV} is not set")
        pytest.skip(f"{REDIS_ENV} is not set (e.g. redis://127.0.0.1:6379/15)")
    client = redis_client(url)
    try:
        yield Clocked(RedisCache(name, client), None)
    finally:
        await client.aclose()


def counted(cache: str, outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("market_cache_requests_total", {"cache": cache, "outcome": outcome}) or 0.0
    )


async def test_a_value_is_kept_for_its_time_to_live_then_missed(cached: Clocked) -> None:
    cache = cached.cache
    await cache.put_many({"prd_a": b"12000", "prd_b": b"3000"}, ttl_seconds=0.5)

    assert await cache.get_many(["prd_a", "prd_b", "prd_c"]) == {"prd_a": b"12000", "prd_b": b"3000"}
    assert (counted(cache.name, "hit"), counted(cache.name, "miss")) == (2, 1)
    await cached.wait(0.6)
    assert await cache.get_many(["prd_a"]) == {}


async def test_a_forgotten_key_is_a_miss(cached: Clocked) -> None:
    cache = cached.cache
    await cache.put_many({"prd_a": b"12000", "prd_b": b"3000"}, ttl_seconds=30)
    await cache.forget(["prd_a"])

    assert await cache.get_many(["prd_a", "prd_b"]) == {"prd_b": b"3000"}


class Unreachable:
    """A Redis client whose server is gone (or comes back with `up`)."""

    def __init__(self, inner: object | None = None) -> None:
        self.inner, self.calls = inner, 0

    def __getattr__(self, name: str) -> object:
        self.calls += 1
        if self.inner is None:
            raise ConnectionError("Connection refused")
        return getattr(self.inner, name)


async def test_redis_down_is_a_miss_counted_as_an_error_and_not_asked_again_at_once() -> None:
    client = Unreachable()
    cache = RedisCache(f"test{uuid.uuid4().hex[:8]}", client, cooldown=60)

    assert await cache.get_many(["prd_a", "prd_b"]) == {}
    await cache.put_many({"prd_a": b"1"}, ttl_seconds=30)
    await cache.forget(["prd_a"])
    assert await cache.get_many(["prd_a"]) == {}

    assert counted(cache.name, "error") == 3 and counted(cache.name, "miss") == 0
    assert client.calls == 1  # resting after the first failure: the service answers meanwhile


async def test_a_key_forgotten_while_redis_was_down_is_forgotten_once_it_is_back() -> None:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set")
    real = redis_client(url)
    client = Unreachable(real)
    name = f"test{uuid.uuid4().hex[:8]}"
    try:
        cache = RedisCache(name, client, cooldown=0.1)
        await cache.put_many({"prd_a": b"12000"}, ttl_seconds=30)
        client.inner = None  # Redis unreachable while the price changes
        await cache.forget(["prd_a"])
        client.inner = real
        await asyncio.sleep(0.15)

        assert await cache.get_many(["prd_a"]) == {}
        assert await RedisCache(name, real).get_many(["prd_a"]) == {}  # another replica's view
    finally:
        await real.aclose()
