"""The read side scaled out (SPEC §10.1, §10.2): the catalog cache in Redis, shared by the order service's
replicas and emptied of a product by its ProductChanged; orders going on while Redis is killed; the read
model catching up once its consumers come back.

It needs the topology of `market up --replicas` with two or more order replicas (scripts/test starts it
so) and ends, like every end-to-end test, with the audit of SPEC §8.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from typing import Any

import httpx
import pytest

from market import platform
from market.bootstrap.status import metrics_headers
from market.bootstrap.topology import Replica, infra, redis_url, remembered, start, stop
from market.infra.cache import redis_client
from market.settings import Settings
from tests.e2e.client import Api, line, pg
from tests.e2e.test_read_side import search, until

SETTINGS = remembered(Settings())
SCRAPE = metrics_headers(SETTINGS)  # /metrics answers the scrape token or an admin's

pytestmark = pytest.mark.skipif(
    os.environ.get("MARKET_E2E_DISTRIBUTED") != "1" or SETTINGS.replica_counts().get("order", 1) < 2,
    reason="needs `market up --replicas order=2,...` with Redis (scripts/test runs it)",
)


def replica_url(service: str, index: int) -> str:
    return f"http://127.0.0.1:{platform.service(service).http_port + platform.PORT_STRIDE * index}"


async def cache_count(index: int, outcome: str) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{replica_url('order', index)}/metrics", headers=SCRAPE)).text
    found = re.search(
        rf'^market_cache_requests_total{{cache="catalog",outcome="{outcome}"}} (\S+)$', text, re.M
    )
    return float(found[1]) if found else 0.0


async def order_at(index: int, api: Api, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    """A placement sent to one order replica, past the gateway."""
    async with httpx.AsyncClient(base_url=replica_url("order", index), timeout=30) as client:
        return await client.post(
            "/api/v1/orders",
            json=body,
            headers={**headers, "Idempotency-Key": os.urandom(8).hex(), "Prefer": "wait=10"},
        )


async def test_a_price_change_is_seen_by_the_other_replicas_next_order(api: Api) -> None:
    product = await api.product(price=1_000, stock=100)
    member = await api.member()
    body = {"items": [line(product)], "payments": [pg(1_000)]}
    assert (await order_at(0, api, member.headers, body)).json()["status"] == "PAID"  # replica 0 caches it
    hits = await cache_count(1, "hit")
    assert (await order_at(1, api, member.headers, body)).json()["status"] == "PAID"
    assert await cache_count(1, "hit") == hits + 1  # replica 1 reads what replica 0 put in Redis

    changed = await api.http.patch(
        f"/api/v1/admin/products/{product['id']}", headers=api.admin, json={"price": 1_500}
    )
    assert changed.status_code == 200, changed.text
    redis = redis_client(redis_url(SETTINGS))
    try:  # ProductChanged: product's outbox → Kafka → one order replica → DEL in Redis
        await until(lambda: redis.exists(f"market:catalog:{product['id']}"), lambda n: n == 0, seconds=10)
    finally:
        await redis.aclose()
    misses = await cache_count(1, "miss")
    r = await order_at(1, api, member.headers, {"items": [line(product)], "payments": [pg(1_500)]})

    assert (r.json()["status"], r.json()["items"][0]["unit_price"]) == ("PAID", 1_500)
    assert await cache_count(1, "miss") == misses + 1  # read from the product service, not a stale copy


async def test_orders_go_on_while_redis_is_killed(api: Api) -> None:
    product = await api.product(price=1_000, stock=1_000)
    member = await api.member()
    errors = sum([await cache_count(i, "error") for i in range(2)])
    statuses: list[str] = []
    stop_at = time.monotonic() + 8

    async def client() -> None:
        while time.monotonic() < stop_at:
            r = await api.order(member, [line(product)], [pg(1_000)], wait=10)
            assert r.status_code == 201, r.text
            statuses.append(r.json()["status"])

    clients = [asyncio.create_task(client()) for _ in range(4)]
    await asyncio.sleep(2)
    await asyncio.to_thread(infra, "stop", "redis", SETTINGS)
    await asyncio.sleep(3)
    await asyncio.to_thread(infra, "start", "redis", SETTINGS)
    await asyncio.gather(*clients)

    assert len(statuses) > 10 and set(statuses) == {"PAID"}
    assert sum([await cache_count(i, "error") for i in range(2)]) > errors  # the cache was down meanwhile
    stock = (await api.http.get(f"/api/v1/products/{product['id']}")).json()["stock"]
    assert stock == 1_000 - len(statuses)


async def test_the_read_model_catches_up_after_its_consumers_were_down(api: Api) -> None:
    product = await api.product(price=1_000)
    member = await api.member()
    reporting = [Replica("reporting", i) for i in range(SETTINGS.replica_counts().get("reporting", 1))]
    for replica in reporting:
        await asyncio.to_thread(stop, SETTINGS, replica)
    try:
        placed = [await api.order(member, [line(product)], [pg(1_000)], wait=10) for _ in range(3)]
        assert [r.json()["status"] for r in placed] == ["PAID"] * 3
    finally:
        for replica in reporting:
            await asyncio.to_thread(start, SETTINGS, replica)

    wanted = {r.json()["id"]: "PAID" for r in placed}
    await until(
        lambda: search(api, member_id=member.id),
        lambda found: {o["id"]: o["status"] for o in found} == wanted,
        seconds=30,
    )
