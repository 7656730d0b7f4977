"""Races a real marketplace sees: the last unit, and a client that retries with the same Idempotency-Key."""

from __future__ import annotations

import asyncio
import uuid

from tests.e2e.client import Api, line, pg


async def test_fifty_concurrent_orders_for_the_last_unit(api: Api) -> None:
    product = await api.product(price=3_000, stock=1)
    members = [await api.member() for _ in range(5)]
    responses = await asyncio.gather(
        *[api.order(members[i % 5], [line(product)], [pg(3_000)], wait=None) for i in range(50)]
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 49, statuses
    assert all(r.json()["code"] == "OUT_OF_STOCK" for r in responses if r.status_code == 409)
    assert (await api.http.get(f"/api/v1/products/{product['id']}")).json()["stock"] == 0


async def test_same_key_same_body_replays_the_first_response(api: Api) -> None:
    product = await api.product(price=2_000)
    member = await api.member()
    key = uuid.uuid4().hex
    first = await api.order(member, [line(product)], [pg(2_000)], key=key, wait=None)
    again = await api.order(member, [line(product)], [pg(2_000)], key=key, wait=None)
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert len((await api.get(member, "/orders")).json()["items"]) == 1


async def test_same_key_other_body_is_refused(api: Api) -> None:
    product = await api.product(price=2_000)
    member = await api.member()
    key = uuid.uuid4().hex
    assert (await api.order(member, [line(product)], [pg(2_000)], key=key)).status_code == 201
    other = await api.order(member, [line(product, 2)], [pg(4_000)], key=key)
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len((await api.get(member, "/orders")).json()["items"]) == 1


async def test_concurrent_requests_with_one_key_create_one_order(api: Api) -> None:
    product = await api.product(price=2_000)
    member = await api.member()
    key = uuid.uuid4().hex
    # The slow sandbox card answers after 1 s, and Prefer: wait keeps the first request open until then.
    plan = [pg(2_000, "pk_test_slow")]
    first = asyncio.ensure_future(api.order(member, [line(product)], plan, key=key, wait=5))
    await asyncio.sleep(0.3)
    others = await asyncio.gather(
        *[api.order(member, [line(product)], plan, key=key, wait=5) for _ in range(5)]
    )
    responses = [await first, *others]
    codes = [r.status_code for r in responses]
    assert codes == [201, 409, 409, 409, 409, 409], codes
    assert all(r.json()["code"] == "IDEMPOTENCY_KEY_IN_USE" for r in responses if r.status_code == 409)
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    assert len((await api.get(member, "/orders")).json()["items"]) == 1
