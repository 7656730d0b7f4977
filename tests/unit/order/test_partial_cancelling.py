"""Partial cancellation (SPEC §10.3), as the order service sees it: which quantities may be cancelled, the
refund they call for and its split, one cancellation at a time, the order PAID until nothing is open."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from market.kernel.errors import DomainError
from market.kernel.plan import Leg, Method
from market.order.domain import Order
from tests.unit.order.fakes import World


async def paid(world: World) -> Order:
    """2 × prd_a (5,000) + 3 × prd_b (2,000) = 16,000 won: PG 15,000 + POINT 1,000."""
    order = await world.service.place_order(
        "mem_1",
        [("prd_a", 2), ("prd_b", 3)],
        [Leg(Method.PG, 15_000, "pk_test_ok"), Leg(Method.POINT, 1_000)],
    )
    await world.pay(order)
    return await world.order(order.id)


async def test_a_partial_cancel_keeps_the_order_paid_and_asks_for_its_refund(world: World) -> None:
    order = await paid(world)
    asked = await world.service.cancel_order("mem_1", order.id, items=[("prd_b", 2)])
    assert asked.status == "PAID"
    pending = asked.pending_cancellation
    assert pending is not None and pending.refund_amount == 4_000 and not pending.whole
    # floor(4,000 × 1,000 / 16,000) = 250 points; the PG, the main leg, the rest.
    assert {r.method: r.amount for r in pending.refunds} == {Method.PG: 3_750, Method.POINT: 250}
    assert asked.timeline[-1].event == "PARTIAL_CANCELLATION_REQUESTED"
    [event] = world.events("OrderPartialCancellationRequested")
    assert event.payload == {
        "member_id": "mem_1",
        "cancellation_id": pending.id,
        "items": [{"product_id": "prd_b", "quantity": 2}],
        "refund_amount": 4_000,
    }
    assert world.events("OrderCancellationRequested") == []


async def test_the_refund_records_quantities_and_amounts_and_is_announced(world: World) -> None:
    order = await paid(world)
    asked = await world.service.cancel_order("mem_1", order.id, items=[("prd_b", 2)])
    await world.refund_part(asked)
    done = await world.order(order.id)
    assert done.status == "PAID" and done.pending_cancellation is None
    assert [(i.product_id, i.cancelled_quantity) for i in done.items] == [("prd_a", 0), ("prd_b", 2)]
    assert [(p.method, p.refunded_amount) for p in done.payments] == [(Method.PG, 3_750), (Method.POINT, 250)]
    assert done.timeline[-1].event == "ORDER_PARTIALLY_CANCELLED"
    [announced] = world.events("OrderPartiallyCancelled")
    assert announced.payload["items"] == [{"product_id": "prd_b", "quantity": 2}]
    assert announced.payload["refund_amount"] == 4_000
    assert announced.payload["refunds"] == [
        {"method": "PG", "amount": 3_750},
        {"method": "POINT", "amount": 250},
    ]


async def test_a_duplicate_or_stale_refund_changes_nothing(world: World) -> None:
    order = await paid(world)
    asked = await world.service.cancel_order("mem_1", order.id, items=[("prd_a", 1)])
    refunded = await world.refund_part(asked)
    await world.service.handle(refunded)  # the same event again
    await world.refund_part(asked)  # another event for a cancellation no longer pending
    done = await world.order(order.id)
    assert [i.cancelled_quantity for i in done.items] == [1, 0]
    assert len(world.events("OrderPartiallyCancelled")) == 1


async def test_one_cancellation_at_a_time(world: World) -> None:
    order = await paid(world)
    await world.service.cancel_order("mem_1", order.id, items=[("prd_a", 1)])
    for items in ([("prd_b", 1)], None):
        with pytest.raises(DomainError) as refused:
            await world.service.cancel_order("mem_1", order.id, items=items)
        assert refused.value.code == "ORDER_NOT_CANCELLABLE"
    assert len(world.events("OrderPartialCancellationRequested")) == 1


@pytest.mark.parametrize(
    ("items", "code"),
    [
        ([], "VALIDATION_ERROR"),
        ([("prd_a", 0)], "VALIDATION_ERROR"),
        ([("prd_a", 1), ("prd_a", 1)], "VALIDATION_ERROR"),
        ([("prd_zzz", 1)], "PRODUCT_NOT_IN_ORDER"),
        ([("prd_a", 3)], "CANCEL_QUANTITY_EXCEEDED"),
    ],
)
async def test_what_cannot_be_cancelled_is_refused(
    world: World, items: list[tuple[str, int]], code: str
) -> None:
    order = await paid(world)
    with pytest.raises(DomainError) as refused:
        await world.service.cancel_order("mem_1", order.id, items=items)
    assert refused.value.code == code
    assert (await world.order(order.id)).pending_cancellation is None


async def test_more_than_is_still_open_is_refused(world: World) -> None:
    order = await paid(world)
    await world.refund_part(await world.service.cancel_order("mem_1", order.id, items=[("prd_a", 1)]))
    with pytest.raises(DomainError) as refused:
        await world.service.cancel_order("mem_1", order.id, items=[("prd_a", 2)])
    assert (refused.value.code, refused.value.extra["open_quantity"]) == ("CANCEL_QUANTITY_EXCEEDED", 1)


async def test_the_24_hour_window_applies_to_partial_cancels(world: World) -> None:
    order = await paid(world)
    world.clock.advance(timedelta(hours=24))
    with pytest.raises(DomainError) as refused:
        await world.service.cancel_order("mem_1", order.id, items=[("prd_a", 1)])
    assert refused.value.code == "CANCEL_WINDOW_EXPIRED"


async def test_cancelling_what_is_left_is_the_whole_cancel(world: World) -> None:
    order = await paid(world)
    await world.refund_part(await world.service.cancel_order("mem_1", order.id, items=[("prd_b", 2)]))
    rest = await world.service.cancel_order("mem_1", order.id, items=[("prd_a", 2), ("prd_b", 1)])
    assert rest.status == "CANCELLING"
    pending = rest.pending_cancellation
    assert pending is not None and pending.whole and pending.refund_amount == 12_000
    # Whatever each leg has left: 15,000 − 3,750 and 1,000 − 250.
    assert {r.method: r.amount for r in pending.refunds} == {Method.PG: 11_250, Method.POINT: 750}
    [asked] = world.events("OrderCancellationRequested")
    assert asked.payload == {"member_id": "mem_1"}
    await world.refund(rest)
    cancelled = await world.order(order.id)
    assert cancelled.status == "CANCELLED"
    assert [i.cancelled_quantity for i in cancelled.items] == [2, 3]
    assert [p.refunded_amount for p in cancelled.payments] == [15_000, 1_000]
    [announced] = world.events("OrderCancelled")
    assert announced.payload["refund_amount"] == 12_000
    assert announced.payload["items"] == [
        {"product_id": "prd_a", "quantity": 2},
        {"product_id": "prd_b", "quantity": 1},
    ]


async def test_two_cancels_racing_on_one_order_one_is_refused(world: World) -> None:
    order = await paid(world)
    outcomes = await asyncio.gather(
        world.service.cancel_order("mem_1", order.id, items=[("prd_a", 1)]),
        world.service.cancel_order("mem_1", order.id, items=[("prd_b", 1)]),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(refused) == 1 and refused[0].code == "ORDER_NOT_CANCELLABLE"
    assert len(world.events("OrderPartialCancellationRequested")) == 1
