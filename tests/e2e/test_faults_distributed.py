"""Faults of the distributed topology (issue 3): crashes, a broker restart, duplicates, dependencies down.

Each ends with the autouse audit of SPEC §8. They control the processes of `market up`, so they run only
against it (MARKET_E2E_DISTRIBUTED=1, set by scripts/test's distributed phase).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from market.bootstrap.topology import SANDBOX, Replica, infra, remembered, replicas, start, stop
from market.kernel.events import ORDER_EVENTS, Envelope
from market.settings import Settings
from tests.e2e.client import Api, Member, line, pg

pytestmark = pytest.mark.skipif(
    os.environ.get("MARKET_E2E_DISTRIBUTED") != "1",
    reason="needs the topology of `market up` (scripts/test runs it)",
)


async def settle(api: Api, member: Member, ids: list[str], seconds: float = 60) -> list[str]:
    deadline = time.monotonic() + seconds
    while True:
        statuses = [(await api.get(member, f"/orders/{i}")).json()["status"] for i in ids]
        if "PENDING" not in statuses or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.5)


async def test_kill_9_payment_mid_saga_then_restart_completes_without_double_charge(api: Api) -> None:
    settings = Settings()
    product = await api.product(price=1_000, stock=1_000)
    member = await api.member(points=100_000)
    plans = [
        [pg(500), {"method": "POINT", "amount": 500}],
        [pg(1_000, "pk_test_timeout_after_charge")],
        [pg(1_000, "pk_test_decline")],
    ]
    placed = await asyncio.gather(
        *[api.order(member, [line(product)], plans[i % 3], wait=None) for i in range(30)]
    )
    stop(settings, Replica("payment", 0), signal.SIGKILL)
    start(settings, Replica("payment", 0))
    statuses = await settle(api, member, [r.json()["id"] for r in placed])
    assert statuses == ["PAID", "PAID", "FAILED"] * 10
    assert (await api.get(member, "/members/me")).json()["point_balance"] == 100_000 - 500 * 10


async def test_kafka_restart_while_orders_flow_loses_nothing(api: Api) -> None:
    settings = Settings()
    product = await api.product(price=1_000, stock=1_000)
    member = await api.member()

    async def place_for(seconds: float) -> list[str]:
        ids, end = [], time.monotonic() + seconds
        while time.monotonic() < end:
            r = await api.order(member, [line(product)], [pg(1_000)], wait=None)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
            await asyncio.sleep(0.05)
        return ids

    flowing = asyncio.ensure_future(place_for(6))
    await asyncio.sleep(1)
    await asyncio.to_thread(infra, "stop", "kafka", settings)
    await asyncio.to_thread(infra, "start", "kafka", settings)
    ids = await flowing
    assert len(ids) > 20
    assert set(await settle(api, member, ids, 90)) == {"PAID"}


async def test_the_same_kafka_message_twice_has_one_effect(api: Api) -> None:
    settings = Settings()
    product = await api.product(price=3_000, stock=10)
    member = await api.member(points=5_000)
    order = (
        await api.order(member, [line(product)], [pg(2_000), {"method": "POINT", "amount": 1_000}])
    ).json()
    assert order["status"] == "PAID"
    created = await find_event(settings.kafka_bootstrap, order["id"], "OrderCreated")
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(ORDER_EVENTS, created.to_bytes(), key=order["id"].encode())
    finally:
        await producer.stop()
    await asyncio.sleep(2)
    assert (await api.get(member, "/members/me")).json()["point_balance"] == 4_000
    history = (await api.get(member, f"/payments?order_id={order['id']}")).json()["items"]
    assert sorted((h["method"], h["status"]) for h in history) == [("PG", "APPROVED"), ("POINT", "APPROVED")]
    assert (await api.http.get(f"/api/v1/products/{product['id']}")).json()["stock"] == 9


async def find_event(bootstrap: str, order_id: str, type_: str) -> Envelope:
    consumer = AIOKafkaConsumer(
        ORDER_EVENTS,
        bootstrap_servers=bootstrap,
        group_id=f"probe-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if record.key == order_id.encode():
                        env = Envelope.from_bytes(record.value)
                        if env.type == type_:
                            return env
    finally:
        await consumer.stop()
    raise AssertionError(f"{type_} of {order_id} not found on {ORDER_EVENTS}")


def every_replica(settings: Settings, service: str) -> list[Replica]:
    return [r for r in replicas(remembered(settings)) if r.service == service]


async def test_member_service_down_fails_orders_fast_with_a_clear_error(api: Api) -> None:
    settings = Settings()
    product = await api.product(price=1_000)
    member = await api.member()
    for replica in every_replica(settings, "member"):
        stop(settings, replica)
    try:
        started = time.monotonic()
        r = await api.order(member, [line(product)], [pg(1_000)], wait=None)
        elapsed = time.monotonic() - started
        assert r.status_code == 503 and r.json()["code"] == "UPSTREAM_UNAVAILABLE", r.text
        assert elapsed < 10, elapsed
        assert (await api.get(member, "/orders")).json()["items"] == []
    finally:
        for replica in every_replica(settings, "member"):
            start(settings, replica)
    # Once it is back, orders go through again within seconds (the order service's channel reconnects).
    deadline, answer = time.monotonic() + 15, None
    while time.monotonic() < deadline:
        answer = await api.order(member, [line(product)], [pg(1_000)])
        if answer.status_code == 201:
            break
        assert answer.json()["code"] == "UPSTREAM_UNAVAILABLE", answer.text
        await asyncio.sleep(0.5)
    assert answer is not None and answer.status_code == 201 and answer.json()["status"] == "PAID", answer


async def test_pg_down_payments_wait_and_the_reconciler_completes_them_when_it_is_back(api: Api) -> None:
    settings = Settings()
    product = await api.product(price=2_000, stock=10)
    member = await api.member(points=1_000)
    stop(settings, Replica(SANDBOX, 0))
    try:
        r = await api.order(
            member, [line(product)], [pg(1_000), {"method": "POINT", "amount": 1_000}], wait=3
        )
        assert r.status_code == 201 and r.json()["status"] == "PENDING", r.text
    finally:
        start(settings, Replica(SANDBOX, 0))
    assert await settle(api, member, [r.json()["id"]]) == ["PAID"]
    assert (await api.get(member, "/members/me")).json()["point_balance"] == 0
