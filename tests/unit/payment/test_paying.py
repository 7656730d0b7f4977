"""OrderCreated → the payment saga: every plan the rules allow is paid; every refusal gives everything back."""

from __future__ import annotations

import pytest

from tests.unit.payment.conftest import World, bnpl, coupon_leg, pg, point


def legs_of(world: World, order_id: str, type_: str) -> list[dict[str, object]]:
    [e] = [e for e in world.events(order_id) if e.type == type_]
    return list(e.payload["legs"])


@pytest.mark.parametrize(
    ("plan", "pg_amount", "points_used", "with_coupon"),
    [
        (["PG"], 20_000, 0, False),
        (["POINT"], 0, 20_000, False),
        (["BNPL"], 0, 0, False),
        (["PG", "POINT"], 15_000, 5_000, False),
        (["PG", "COUPON"], 17_000, 0, True),
        (["PG", "POINT", "COUPON"], 12_000, 5_000, True),
    ],
)
async def test_every_allowed_plan_completes(
    world: World, plan: list[str], pg_amount: int, points_used: int, with_coupon: bool
) -> None:
    member = world.member(points=30_000)
    legs = []
    coupon = await world.coupon(member, discount_value=3_000) if with_coupon else None
    if "PG" in plan:
        legs.append(pg(pg_amount))
    if "POINT" in plan:
        legs.append(point(points_used))
    if coupon is not None:
        legs.append(coupon_leg(coupon.id, 3_000))
    if "BNPL" in plan:
        legs.append(bnpl(20_000))

    placed = await world.place(member, 20_000, *legs)

    payment = await world.payment(placed.order_id)
    assert payment.status == "COMPLETED"
    events = world.events(placed.order_id)
    assert [e.type for e in events] == ["PaymentCompleted"]
    assert events[0].payload["member_id"] == member
    assert events[0].payload["approved_at"] is not None
    assert {leg["method"]: leg["status"] for leg in events[0].payload["legs"]} == dict.fromkeys(
        plan, "APPROVED"
    )
    assert sum(int(str(leg["amount"])) for leg in events[0].payload["legs"]) == 20_000
    assert world.points.balances[member] == 30_000 - points_used
    assert world.points.use_calls == (1 if points_used else 0)
    charges = await world.charges(placed.order_id)
    assert [(c["amount"], c["status"]) for c in charges] == ([(pg_amount, "DONE")] if pg_amount else [])
    if coupon is not None:
        assert await world.coupon_status(coupon.id) == ("USED", placed.order_id)
    contract = await world.contract(placed.order_id)
    assert (contract.status if contract else None) == ("APPROVED" if "BNPL" in plan else None)


async def test_pg_decline_after_points_and_coupon_gives_both_back(world: World) -> None:
    member = world.member(points=4_000)
    coupon = await world.coupon(member, discount_value=1_000)

    placed = await world.place(
        member, 10_000, pg(6_000, "pk_test_decline"), point(3_000), coupon_leg(coupon.id, 1_000)
    )

    payment = await world.payment(placed.order_id)
    assert (payment.status, payment.failure_reason) == ("FAILED", "PG_DECLINED")
    [failed] = world.events(placed.order_id)
    assert failed.type == "PaymentFailed"
    assert failed.payload["reason"] == "PG_DECLINED"
    assert {leg["method"]: leg["status"] for leg in failed.payload["legs"]} == {
        "PG": "FAILED",
        "POINT": "CANCELLED",
        "COUPON": "CANCELLED",
    }
    assert world.points.balances[member] == 4_000
    assert await world.coupon_status(coupon.id) == ("AVAILABLE", None)
    assert await world.charges(placed.order_id) == []


async def test_a_charge_whose_answer_was_lost_is_found_and_kept(world: World) -> None:
    member = world.member(points=1_000)
    placed = await world.place(member, 7_000, pg(6_000, "pk_test_timeout_after_charge"), point(1_000))

    assert (await world.payment(placed.order_id)).status == "COMPLETED"
    assert [e.type for e in world.events(placed.order_id)] == ["PaymentCompleted"]
    charges = await world.charges(placed.order_id)
    assert [(c["amount"], c["status"]) for c in charges] == [(6_000, "DONE")]
    assert (await world.payment(placed.order_id)).legs[0].pg_payment_key == charges[0]["payment_key"]
    assert world.points.balances[member] == 0


async def test_no_answer_and_no_charge_fails_with_pg_timeout(world: World) -> None:
    member = world.member(points=1_000)
    placed = await world.place(member, 7_000, pg(6_000, "pk_test_timeout"), point(1_000))

    payment = await world.payment(placed.order_id)
    assert (payment.status, payment.failure_reason) == ("FAILED", "PG_TIMEOUT")
    assert [e.payload.get("reason") for e in world.events(placed.order_id)] == ["PG_TIMEOUT"]
    assert await world.charges(placed.order_id) == []
    assert world.points.balances[member] == 1_000


async def test_one_5xx_is_retried_and_charges_once(world: World) -> None:
    member = world.member()
    placed = await world.place(member, 6_000, pg(6_000, "pk_test_5xx_once"))

    assert (await world.payment(placed.order_id)).status == "COMPLETED"
    assert [(c["amount"], c["status"]) for c in await world.charges(placed.order_id)] == [(6_000, "DONE")]


async def test_bnpl_refusal_fails_the_payment(world: World) -> None:
    member = world.member()
    placed = await world.place(member, 30_000, bnpl(30_000, "bnpl_test_reject"))

    payment = await world.payment(placed.order_id)
    assert (payment.status, payment.failure_reason) == ("FAILED", "BNPL_REJECTED")
    assert legs_of(world, placed.order_id, "PaymentFailed") == [
        {"method": "BNPL", "amount": 30_000, "status": "FAILED"}
    ]
    assert await world.contract(placed.order_id) is None


async def test_the_validation_chain_is_authoritative(world: World) -> None:
    member = world.member(points=1_000)
    coupon = await world.coupon(member, discount_value=2_000, min_order_amount=50_000)

    short = await world.place(member, 10_000, pg(5_000), point(5_000))
    below_minimum = await world.place(member, 10_000, pg(8_000), coupon_leg(coupon.id, 2_000))
    mismatch = await world.place(member, 10_000, pg(9_000))
    bnpl_small = await world.place(member, 9_999, bnpl(9_999))

    reasons = [
        (await world.payment(p.order_id)).failure_reason for p in (short, below_minimum, mismatch, bnpl_small)
    ]
    assert reasons == ["INSUFFICIENT_POINTS", "COUPON_NOT_APPLICABLE", "AMOUNT_MISMATCH", "BNPL_MIN_AMOUNT"]
    for placed in (short, below_minimum, mismatch):
        assert all(leg["status"] == "SKIPPED" for leg in legs_of(world, placed.order_id, "PaymentFailed"))
        assert await world.charges(placed.order_id) == []
    assert world.points.use_calls == 0
    assert await world.coupon_status(coupon.id) == ("AVAILABLE", None)


async def test_a_coupon_taken_meanwhile_fails_the_payment_and_keeps_the_other_order(world: World) -> None:
    member = world.member()
    coupon = await world.coupon(member, discount_value=1_000)
    first = await world.place(member, 5_000, pg(4_000), coupon_leg(coupon.id, 1_000))
    second = await world.place(member, 5_000, pg(4_000), coupon_leg(coupon.id, 1_000))

    assert (await world.payment(first.order_id)).status == "COMPLETED"
    assert (await world.payment(second.order_id)).failure_reason == "COUPON_NOT_APPLICABLE"
    assert await world.coupon_status(coupon.id) == ("USED", first.order_id)


async def test_a_malformed_plan_fails_instead_of_hanging(world: World) -> None:
    member = world.member()
    placed = await world.place(member, 5_000, {"method": "CASH", "amount": 5_000})

    assert (await world.payment(placed.order_id)).failure_reason == "VALIDATION_ERROR"


async def test_duplicate_order_created_changes_nothing(world: World) -> None:
    member = world.member(points=1_000)
    placed = await world.place(member, 5_000, pg(4_000), point(1_000))

    await world.service.handle(placed)

    assert [e.type for e in world.events(placed.order_id)] == ["PaymentCompleted"]
    assert len(await world.charges(placed.order_id)) == 1
    assert world.points.balances[member] == 0
    assert world.card.confirms == 1


async def test_other_event_types_are_ignored(world: World) -> None:
    from tests.events import event

    await world.service.handle(event("OrderCancelled", "ord_x", world.clock.now(), member_id="mem_x"))

    assert world.state.payments == {} and world.state.outbox == []
