"""Cancellation: only a PAID order, only within 24 hours of payment, only one's own."""

from __future__ import annotations

from datetime import timedelta

import pytest

from market.kernel.errors import DomainError
from market.order.domain import Order
from tests.unit.order.fakes import World


async def paid_order(world: World) -> Order:
    order = await world.place("mem_1", ("prd_a", 1))
    await world.pay(order)
    return await world.order(order.id)


async def test_at_23_59_after_payment_the_order_is_cancelling_and_the_refund_is_asked(world: World) -> None:
    order = await paid_order(world)
    world.clock.advance(timedelta(hours=23, minutes=59))
    cancelling = await world.service.cancel_order("mem_1", order.id)
    assert cancelling.status == "CANCELLING"
    assert (await world.order(order.id)).timeline[-1].event == "CANCELLATION_REQUESTED"
    [asked] = world.events("OrderCancellationRequested")
    assert (asked.order_id, asked.payload) == (order.id, {"member_id": "mem_1"})


async def test_at_24_01_after_payment_the_window_has_closed(world: World) -> None:
    order = await paid_order(world)
    world.clock.advance(timedelta(hours=24, minutes=1))
    with pytest.raises(DomainError) as refused:
        await world.service.cancel_order("mem_1", order.id)
    assert refused.value.code == "CANCEL_WINDOW_EXPIRED"
    assert (await world.order(order.id)).status == "PAID"
    assert world.events("OrderCancellationRequested") == []


async def test_a_pending_failed_or_already_cancelling_order_is_not_cancellable(world: World) -> None:
    pending = await world.place("mem_1", ("prd_a", 1))
    failed = await world.place("mem_1", ("prd_b", 1))
    await world.fail(failed)
    cancelling = await paid_order(world)
    await world.service.cancel_order("mem_1", cancelling.id)
    for order in (pending, failed, cancelling):
        with pytest.raises(DomainError) as refused:
            await world.service.cancel_order("mem_1", order.id)
        assert refused.value.code == "ORDER_NOT_CANCELLABLE"
    assert len(world.events("OrderCancellationRequested")) == 1


async def test_another_members_order_is_not_found_but_an_admin_may_cancel_it(world: World) -> None:
    order = await paid_order(world)
    with pytest.raises(DomainError) as refused:
        await world.service.cancel_order("mem_bob", order.id)
    assert refused.value.code == "NOT_FOUND"
    with pytest.raises(DomainError):
        await world.service.get_order("mem_bob", order.id)
    assert (await world.service.cancel_order("mem_admin", order.id, is_admin=True)).status == "CANCELLING"
