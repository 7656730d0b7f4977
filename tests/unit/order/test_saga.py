"""The order follows the payment saga: paid, failed, refunded; duplicates and stale events change nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from market.kernel.clock import iso
from market.order.adapters.memory import MemoryOrders
from market.order.domain import Order
from tests.events import event
from tests.unit.order.fakes import World
from tests.unit.order.rest_kit import eventually

A = ("prd_a", 1)


async def test_payment_completed_makes_the_order_paid(world: World) -> None:
    order = await world.place("mem_1", A)
    approved = world.clock.now() + timedelta(seconds=2)
    world.clock.advance(timedelta(seconds=3))
    await world.pay(order, approved_at=iso(approved))
    paid = await world.order(order.id)
    assert paid.status == "PAID" and paid.paid_at == approved
    assert [(p.method, p.status) for p in paid.payments] == [("PG", "APPROVED")]
    assert [t.event for t in paid.timeline] == ["ORDER_PLACED", "PAYMENT_COMPLETED"]
    assert [e.type for e in world.events()] == ["OrderCreated"]


async def test_payment_failed_fails_the_order_with_the_reason_and_announces_it(world: World) -> None:
    order = await world.place("mem_1", A)
    await world.fail(order, "PG_DECLINED")
    failed = await world.order(order.id)
    assert (failed.status, failed.failure_reason) == ("FAILED", "PG_DECLINED")
    assert [(p.method, p.status) for p in failed.payments] == [("PG", "FAILED")]
    assert [(t.event, t.detail) for t in failed.timeline][-1] == ("PAYMENT_FAILED", "PG_DECLINED")
    [announced] = world.events("OrderFailed")
    assert (announced.order_id, announced.payload) == (
        order.id,
        {"member_id": "mem_1", "reason": "PG_DECLINED"},
    )


async def test_a_refund_cancels_the_order_and_announces_it(world: World) -> None:
    order = await world.place("mem_1", A)
    await world.pay(order)
    await world.service.cancel_order("mem_1", order.id)
    world.clock.advance(timedelta(minutes=1))
    await world.refund(order)
    cancelled = await world.order(order.id)
    assert cancelled.status == "CANCELLED" and cancelled.cancelled_at == world.clock.now()
    assert [(p.method, p.status) for p in cancelled.payments] == [("PG", "REFUNDED")]
    assert [t.event for t in cancelled.timeline] == [
        "ORDER_PLACED",
        "PAYMENT_COMPLETED",
        "CANCELLATION_REQUESTED",
        "PAYMENT_REFUNDED",
        "ORDER_CANCELLED",
    ]
    [announced] = world.events("OrderCancelled")
    assert announced.payload == {
        "member_id": "mem_1",
        "items": [{"product_id": "prd_a", "quantity": 1}],
        "refund_amount": 5_000,
    }


async def test_a_duplicate_delivery_of_each_event_changes_nothing(world: World) -> None:
    order = await world.place("mem_1", A)
    paid = await world.pay(order)
    await world.service.cancel_order("mem_1", order.id)
    refunded = await world.refund(order)
    failing = await world.place("mem_1", ("prd_b", 1))
    failed = await world.fail(failing)
    before = (dict(world.state.orders), list(world.state.outbox))
    for envelope in (paid, refunded, failed):
        world.clock.advance(timedelta(seconds=1))
        await world.service.handle(envelope)
    assert (world.state.orders, world.state.outbox) == before
    assert len(world.events("OrderFailed")) == len(world.events("OrderCancelled")) == 1


async def test_a_stale_event_changes_nothing(world: World) -> None:
    order = await world.place("mem_1", A)
    await world.fail(order)
    before = (dict(world.state.orders), list(world.state.outbox))
    await world.pay(order)  # a new event id: not a duplicate, but the order has moved on
    await world.refund(order)
    assert (world.state.orders, world.state.outbox) == before

    paid = await world.place("mem_1", ("prd_b", 1))
    await world.pay(paid)
    await world.fail(paid)
    await world.refund(paid)  # a refund nobody asked for: a PAID order only moves to CANCELLING
    assert (await world.order(paid.id)).status == "PAID"
    assert world.events("OrderCancelled") == [] and len(world.events("OrderFailed")) == 1


async def test_events_of_unknown_orders_and_other_types_are_skipped(world: World) -> None:
    await world.service.handle(
        event("PaymentCompleted", "ord_unknown", world.clock.now(), member_id="m", legs=[])
    )
    await world.service.handle(event("OrderCreated", "ord_unknown", world.clock.now(), member_id="m"))
    assert world.state.orders == {} and world.state.outbox == []


async def test_a_request_waiting_for_the_outcome_is_woken_when_the_order_settles(world: World) -> None:
    order = await world.place("mem_1", A)
    waiting = asyncio.create_task(world.service.follow_order("mem_1", order.id, False, 5))
    await asyncio.sleep(0.01)
    assert world.watch.waiting == 1
    await world.pay(order)
    settled, _ = await asyncio.wait_for(waiting, timeout=1)
    assert settled.status == "PAID" and world.watch.waiting == 0


async def test_waiting_for_the_outcome_gives_up_after_the_time_asked(world: World) -> None:
    order = await world.place("mem_1", A)
    loop = asyncio.get_running_loop()
    started = loop.time()
    still, _ = await world.service.follow_order("mem_1", order.id, False, 0.2)
    assert still.status == "PENDING" and 0.15 < loop.time() - started < 1
    assert world.watch.waiting == 0


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the orders read from now on, but for the consumer's locked reads."""
    reads: list[str] = []
    get = MemoryOrders.get

    async def counted(self: MemoryOrders, order_id: str, for_update: bool = False) -> Order | None:
        if not for_update:
            reads.append(order_id)
        return await get(self, order_id, for_update)

    monkeypatch.setattr(MemoryOrders, "get", counted)
    return reads


async def test_a_long_poll_answers_the_paid_order_without_reading_it_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = await world.place("mem_1", A)
    reads = count_reads(monkeypatch)
    following = asyncio.create_task(world.service.follow_order("mem_1", order.id, False, 5))
    await eventually(lambda: world.watch.waiting == 1)
    await world.pay(order)
    paid, waited = await asyncio.wait_for(following, timeout=1)
    assert reads == [order.id]  # before waiting; the consumer handed over what it committed
    assert (paid.status, waited) == ("PAID", 5) and paid == await world.order(order.id)


async def test_a_change_no_one_announces_here_is_found_by_the_poll(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = await world.place("mem_1", A)
    monkeypatch.setattr(world.watch, "notify", lambda _: None)  # committed by another replica
    following = asyncio.create_task(world.service.follow_order("mem_1", order.id, False, 0.2))
    await eventually(lambda: world.watch.waiting == 1)
    await world.pay(order)
    paid, waited = await asyncio.wait_for(following, timeout=1)
    assert (paid.status, waited) == ("PAID", 0) and world.watch.waiting == 0


async def test_a_change_that_does_not_settle_the_order_keeps_the_request_waiting(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = await world.place("mem_1", A)
    reads = count_reads(monkeypatch)
    waiting = asyncio.create_task(world.service.follow_order("mem_1", order.id, False, 5))
    await eventually(lambda: world.watch.waiting == 1)
    world.watch.notify(order)  # still PENDING: not what the request waits for
    await eventually(lambda: len(reads) == 2 and world.watch.waiting == 1)  # read again, waits on
    await world.pay(order)
    paid, _ = await asyncio.wait_for(waiting, timeout=1)
    assert paid.status == "PAID" and reads == [order.id, order.id]
