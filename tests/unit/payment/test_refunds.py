"""OrderCancellationRequested → every leg of the completed payment is refunded, once."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.payment.conftest import World, bnpl, coupon_leg, pg, point


async def test_cancellation_refunds_every_leg(world: World) -> None:
    member = world.member(points=5_000)
    coupon = await world.coupon(member, discount_value=3_000)
    placed = await world.place(member, 24_000, pg(19_000), point(2_000), coupon_leg(coupon.id, 3_000))

    await world.cancel(placed.order_id, member)

    payment = await world.payment(placed.order_id)
    assert payment.status == "REFUNDED"
    assert sorted((leg.method, leg.status, leg.refunded_amount) for leg in payment.legs) == [
        ("COUPON", "REFUNDED", 3_000),
        ("PG", "REFUNDED", 19_000),
        ("POINT", "REFUNDED", 2_000),
    ]
    [charge] = await world.charges(placed.order_id)
    assert (charge["status"], charge["balance_amount"]) == ("CANCELED", 0)
    assert world.points.balances[member] == 5_000
    assert await world.coupon_status(coupon.id) == ("AVAILABLE", None)
    refunded = world.events(placed.order_id)[-1]
    assert refunded.type == "PaymentRefunded"
    assert refunded.payload["refunded_at"] is not None
    assert {leg["status"] for leg in refunded.payload["legs"]} == {"REFUNDED"}


async def test_bnpl_contract_is_cancelled(world: World) -> None:
    member = world.member()
    placed = await world.place(member, 15_000, bnpl(15_000))

    await world.cancel(placed.order_id, member)

    assert (await world.payment(placed.order_id)).status == "REFUNDED"
    contract = await world.contract(placed.order_id)
    assert contract is not None and contract.status == "CANCELED"


async def test_an_expired_coupon_is_let_go_but_not_revived(world: World) -> None:
    """No coupon stays USED by a cancelled order; one whose validity has passed comes back EXPIRED."""
    member = world.member()
    coupon = await world.coupon(
        member, discount_value=1_000, valid_until=world.clock.now() + timedelta(hours=1)
    )
    placed = await world.place(member, 5_000, pg(4_000), coupon_leg(coupon.id, 1_000))
    world.clock.advance(timedelta(hours=2))

    await world.cancel(placed.order_id, member)

    assert await world.coupon_status(coupon.id) == ("AVAILABLE", None)
    legs = {leg.method: leg for leg in (await world.payment(placed.order_id)).legs}
    # The coupon's share is bookkeeping: it counts as given back though no money moves.
    assert (legs["COUPON"].status, legs["COUPON"].refunded_amount) == ("REFUNDED", 1_000)
    assert (legs["PG"].status, legs["PG"].refunded_amount) == ("REFUNDED", 4_000)
    [held] = await world.service.member_coupons(member)
    assert held.status == "EXPIRED"


async def test_duplicate_cancellation_changes_nothing(world: World) -> None:
    member = world.member(points=1_000)
    placed = await world.place(member, 5_000, pg(4_000), point(1_000))
    request = await world.cancel(placed.order_id, member)

    await world.service.handle(request)
    await world.cancel(placed.order_id, member)  # a second request (new event id) for a refunded payment

    assert [e.type for e in world.events(placed.order_id)] == ["PaymentCompleted", "PaymentRefunded"]
    assert world.points.balances[member] == 1_000
    [charge] = await world.charges(placed.order_id)
    assert charge["status"] == "CANCELED"


async def test_cancellation_of_a_failed_payment_is_ignored(world: World) -> None:
    member = world.member()
    placed = await world.place(member, 5_000, pg(5_000, "pk_test_decline"))

    await world.cancel(placed.order_id, member)

    assert (await world.payment(placed.order_id)).status == "FAILED"
    assert [e.type for e in world.events(placed.order_id)] == ["PaymentFailed"]
