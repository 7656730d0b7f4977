"""OrderPartialCancellationRequested → SPEC §10.3's split of the refund over the legs, each leg given back
once per cancellation (PG and BNPL partial cancels, points through the ledger, the coupon's share kept as
bookkeeping), and the whole order's refund afterwards giving back exactly what is left."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from market.kernel.coupons import IssuedCoupon
from tests.unit.payment.conftest import LEASE, World, bnpl, coupon_leg, pg, point


async def composite(world: World) -> tuple[str, str, IssuedCoupon]:
    """An order of 10,000 won paid PG 7,000 + POINT 2,000 + COUPON 1,000 by a member with 5,000 points."""
    member = world.member(points=5_000)
    coupon = await world.coupon(member, discount_value=1_000)
    placed = await world.place(member, 10_000, pg(7_000), point(2_000), coupon_leg(coupon.id, 1_000))
    return placed.order_id, member, coupon


async def refunded(world: World, order_id: str) -> dict[str, int]:
    return {leg.method.value: leg.refunded_amount for leg in (await world.payment(order_id)).legs}


def partial_refunds(world: World, order_id: str) -> list[dict[str, Any]]:
    return [e.payload for e in world.events(order_id) if e.type == "PaymentPartiallyRefunded"]


async def test_a_partial_cancel_refunds_each_legs_share(world: World) -> None:
    order_id, member, coupon = await composite(world)

    await world.cancel_part(order_id, member, 3_333, "cnl_1")

    payment = await world.payment(order_id)
    assert payment.status == "COMPLETED"
    # floor(3,333 × 2,000 / 10,000) = 666 points, floor(3,333 × 1,000 / 10,000) = 333, the PG the rest.
    assert await refunded(world, order_id) == {"PG": 2_334, "POINT": 666, "COUPON": 333}
    [charge] = await world.charges(order_id)
    assert (charge["status"], charge["balance_amount"]) == ("PARTIAL_CANCELED", 7_000 - 2_334)
    assert world.points.balances[member] == 3_000 + 666
    assert await world.coupon_status(coupon.id) == ("USED", order_id)  # back only with the whole order
    [event] = partial_refunds(world, order_id)
    assert event["cancellation_id"] == "cnl_1"
    assert event["refunds"] == [
        {"method": "PG", "amount": 2_334},
        {"method": "POINT", "amount": 666},
        {"method": "COUPON", "amount": 333},
    ]


async def test_partial_cancels_then_the_whole_cancel_refund_exactly_what_was_paid(world: World) -> None:
    order_id, member, coupon = await composite(world)
    await world.cancel_part(order_id, member, 3_333, "cnl_1")
    await world.cancel_part(order_id, member, 3_333, "cnl_2")  # the same amount: a cancel of its own

    assert await refunded(world, order_id) == {"PG": 4_667, "POINT": 1_333, "COUPON": 666}
    await world.cancel(order_id, member)

    payment = await world.payment(order_id)
    assert payment.status == "REFUNDED"
    assert await refunded(world, order_id) == {"PG": 7_000, "POINT": 2_000, "COUPON": 1_000}
    assert {leg.status for leg in payment.legs} == {"REFUNDED"}
    [charge] = await world.charges(order_id)
    assert (charge["status"], charge["balance_amount"]) == ("CANCELED", 0)
    assert world.points.balances[member] == 5_000
    assert await world.coupon_status(coupon.id) == ("AVAILABLE", None)
    assert [e.type for e in world.events(order_id)][-1] == "PaymentRefunded"


async def test_a_repeated_request_refunds_once(world: World) -> None:
    order_id, member, _ = await composite(world)
    asked = await world.cancel_part(order_id, member, 1_000, "cnl_1")
    await world.service.handle(asked)  # the same event again
    await world.cancel_part(order_id, member, 1_000, "cnl_1")  # another event, the same cancellation
    await world.service.idle()

    assert await refunded(world, order_id) == {"PG": 700, "POINT": 200, "COUPON": 100}
    assert len(partial_refunds(world, order_id)) == 1
    assert world.points.balances[member] == 3_200


async def test_a_pg_cancel_whose_answer_is_lost_is_resolved_by_lookup_never_twice(world: World) -> None:
    order_id, member, _ = await composite(world)
    world.card.lose_cancel_answers = 1

    await world.cancel_part(order_id, member, 5_000, "cnl_1")

    assert (await world.payment(order_id)).status == "COMPLETED"
    assert await refunded(world, order_id) == {"PG": 3_500, "POINT": 1_000, "COUPON": 500}
    [charge] = await world.charges(order_id)
    assert charge["balance_amount"] == 3_500
    assert world.card.cancels == 1


async def test_a_pg_outage_leaves_the_refund_to_the_reconciler_which_finishes_it_once(world: World) -> None:
    order_id, member, _ = await composite(world)
    world.card.down = {"cancel"}

    await world.cancel_part(order_id, member, 2_000, "cnl_1")
    assert (await world.payment(order_id)).status == "REFUNDING"
    assert partial_refunds(world, order_id) == []

    world.card.down = set()
    world.clock.advance(LEASE + timedelta(seconds=1))
    assert await world.service.reconcile_once() == 1
    assert (await world.payment(order_id)).status == "COMPLETED"
    assert await refunded(world, order_id) == {"PG": 1_400, "POINT": 400, "COUPON": 200}
    assert world.points.balances[member] == 3_400  # the points went back once, before the outage
    [charge] = await world.charges(order_id)
    assert charge["balance_amount"] == 5_600


async def test_bnpl_is_cancelled_in_part_then_in_whole(world: World) -> None:
    member = world.member()
    placed = await world.place(member, 30_000, bnpl(30_000))

    await world.cancel_part(placed.order_id, member, 12_000, "cnl_1")
    contract = await world.contract(placed.order_id)
    assert contract is not None
    assert (contract.status, contract.balance_amount) == ("PARTIAL_CANCELED", 18_000)
    assert await refunded(world, placed.order_id) == {"BNPL": 12_000}

    await world.cancel(placed.order_id, member)
    contract = await world.contract(placed.order_id)
    assert contract is not None and (contract.status, contract.balance_amount) == ("CANCELED", 0)
    assert await refunded(world, placed.order_id) == {"BNPL": 30_000}


async def test_points_alone_come_back_in_part(world: World) -> None:
    member = world.member(points=8_000)
    placed = await world.place(member, 8_000, point(8_000))

    await world.cancel_part(placed.order_id, member, 3_000, "cnl_1")
    assert world.points.balances[member] == 3_000
    await world.cancel(placed.order_id, member)
    assert world.points.balances[member] == 8_000
    assert await refunded(world, placed.order_id) == {"POINT": 8_000}


async def test_more_than_is_left_is_refused_and_changes_nothing(world: World) -> None:
    order_id, member, _ = await composite(world)
    await world.cancel_part(order_id, member, 9_000, "cnl_1")
    await world.cancel_part(order_id, member, 1_001, "cnl_2")

    assert (await world.payment(order_id)).status == "COMPLETED"
    assert len(partial_refunds(world, order_id)) == 1
    assert sum((await refunded(world, order_id)).values()) == 9_000


async def test_a_whole_cancel_whose_answer_is_lost_is_resolved_by_lookup(world: World) -> None:
    order_id, member, _ = await composite(world)
    await world.cancel_part(order_id, member, 1_000, "cnl_1")
    world.card.lose_cancel_answers = 1

    await world.cancel(order_id, member)

    assert (await world.payment(order_id)).status == "REFUNDED"
    assert await refunded(world, order_id) == {"PG": 7_000, "POINT": 2_000, "COUPON": 1_000}
    assert world.card.cancels == 2  # the partial one and the whole one, each once
