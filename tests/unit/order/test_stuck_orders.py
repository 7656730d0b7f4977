"""A saga stuck past its deadline is announced again (the same event, which whoever handled it skips) and
escalated (on the order's timeline); a settled order is left alone."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.order.fakes import World

A = ("prd_a", 1)


async def test_an_order_pending_past_the_deadline_is_announced_again_as_the_same_event(world: World) -> None:
    order = await world.place("mem_1", A)
    [created] = world.events("OrderCreated")
    world.clock.advance(timedelta(minutes=4))
    assert await world.service.nudge_stuck_orders() == 0  # not yet
    world.clock.advance(timedelta(minutes=2))
    assert await world.service.nudge_stuck_orders() == 1
    first, again = world.events("OrderCreated")
    assert again.event_id == created.event_id == first.event_id and again.payload == created.payload
    assert (await world.order(order.id)).timeline[-1].event == "SAGA_NUDGED"
    assert await world.service.nudge_stuck_orders() == 0  # dated anew: the next nudge is 5 min away


async def test_a_cancellation_stuck_is_asked_again_and_a_settled_order_never(world: World) -> None:
    paid = await world.place("mem_1", A)
    await world.pay(paid)
    settled = await world.place("mem_1", ("prd_b", 1))
    await world.fail(settled)
    cancelling = await world.service.cancel_order("mem_1", paid.id)
    [asked] = world.events("OrderCancellationRequested")
    world.clock.advance(timedelta(minutes=6))
    assert await world.service.nudge_stuck_orders() == 1
    assert [e.event_id for e in world.events("OrderCancellationRequested")] == [asked.event_id] * 2
    assert (await world.order(cancelling.id)).status == "CANCELLING"
