"""Caches of what other services answer (SPEC §10.2): in this process, or in Redis, shared by every replica.

A cache never decides anything: a key it cannot answer is a miss, and the caller asks the owning service.
So Redis being down makes reads slower, never wrong. Its calls have short timeouts, and after a failure
the cache stops asking Redis for `cooldown` seconds (every key a miss meanwhile), so an outage costs one
timeout per cooldown instead of one per request. Every look-up is counted:
`market_cache_requests_total{cache, outcome=hit|miss|error}` (the hit ratio is hit / all).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from prometheus_client import Counter

from market.kernel.clock import Clock

log = logging.getLogger("market.cache")
REQUESTS = Counter(
    "market_cache_requests_total",
    "Cache look-ups, by cache and outcome (hit, miss, error)",
    ["cache", "outcome"],
)


class Cache(Protocol):
    name: str

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The values held for these keys; the others are misses. Never raises."""
        ...

    async def put_many(self, values: Mapping[str, bytes], ttl_seconds: float) -> None:
        """Keep these values for `ttl_seconds`. Never raises (a value not kept is read again later)."""
        ...

    async def forget(self, keys: Sequence[str]) -> None:
        """Drop these keys: the next look-up of each is a miss. Never raises."""
        ...


def count(cache: str, hits: int, misses: int, errors: int = 0) -> None:
    for outcome, n in (("hit", hits), ("miss", misses), ("error", errors)):
        if n:
            REQUESTS.labels(cache, outcome).inc(n)


class MemoryCache:
    """Up to `size` values in this process, each for its time to live, least recently used out."""

    def __init__(self, name: str, clock: Clock, size: int) -> None:
        self.name = name
        self._clock = clock
        self._size = size
        self._kept: OrderedDict[str, tuple[bytes, datetime]] = OrderedDict()

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        now, found = self._clock.now(), {}
        for key in keys:
            kept = self._kept.get(key)
            if kept is not None and now < kept[1]:
                self._kept.move_to_end(key)
                found[key] = kept[0]
        count(self.name, len(found), len(keys) - len(found))
        return found

    async def put_many(self, values: Mapping[str, bytes], ttl_seconds: float) -> None:
        until = self._clock.now() + timedelta(seconds=ttl_seconds)
        for key, value in values.items():
            self._kept[key] = (value, until)
            self._kept.move_to_end(key)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)

    async def forget(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._kept.pop(key, None)


class RedisCache:
    """Values in Redis under `prefix`, with Redis's own expiry; shared by every replica that uses it.

    A key that could not be forgotten (Redis unreachable) is forgotten again at the next call that
    reaches Redis, before anything is read there."""

    def __init__(self, name: str, client: Any, prefix: str = "market:", cooldown: float = 2.0) -> None:
        self.name = name
        self._redis = client  # redis.asyncio.Redis
        self._prefix = f"{prefix}{name}:"
        self._cooldown = cooldown
        self._resting_until = 0.0
        self._unforgotten: set[str] = set()

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        if not keys:
            return {}
        try:
            await self._reachable()
            values = await self._redis.mget([self._prefix + key for key in keys])
        except Exception as exc:
            self._rest(exc)
            count(self.name, 0, 0, len(keys))
            return {}
        found = {key: value for key, value in zip(keys, values, strict=True) if value is not None}
        count(self.name, len(found), len(keys) - len(found))
        return found

    async def put_many(self, values: Mapping[str, bytes], ttl_seconds: float) -> None:
        if not values:
            return
        try:
            await self._reachable()
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, value in values.items():
                    pipe.set(self._prefix + key, value, px=max(1, int(ttl_seconds * 1000)))
                await pipe.execute()
        except Exception as exc:
            self._rest(exc)

    async def forget(self, keys: Sequence[str]) -> None:
        self._unforgotten.update(keys)
        try:
            await self._reachable()
        except Exception as exc:
            self._rest(exc)

    async def _reachable(self) -> None:
        """Raise while resting after a failure; else first forget what is still to be forgotten."""
        if time.monotonic() < self._resting_until:
            raise ConnectionError(f"cache {self.name}: Redis failed less than {self._cooldown} s ago")
        if self._unforgotten:
            keys = list(self._unforgotten)
            await self._redis.delete(*(self._prefix + key for key in keys))
            self._unforgotten.difference_update(keys)

    def _rest(self, exc: BaseException) -> None:
        if time.monotonic() >= self._resting_until:
            log.warning(
                "cache %s: Redis failed (%s); the owning service answers for %s s",
                self.name,
                exc,
                self._cooldown,
            )
        self._resting_until = max(self._resting_until, time.monotonic() + self._cooldown)


def redis_client(url: str, timeout: float = 0.25) -> Any:
    """A redis.asyncio client with short timeouts and no retries of its own (a miss is the fallback)."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )
