"""Admins define and issue coupons; members see theirs with a status; payment history is the owner's only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from market.kernel.errors import DomainError, NotFound
from tests.unit.payment.conftest import START, World, coupon_leg, pg, point

VALID = {
    "name": "Spring",
    "discount_type": "PERCENT",
    "discount_value": 10,
    "max_discount": 5_000,
    "min_order_amount": 10_000,
    "valid_from": START,
    "valid_until": START + timedelta(days=7),
}


@pytest.mark.parametrize(
    "changes",
    [
        {"discount_type": "FIXED", "discount_value": 0, "max_discount": None},
        {"discount_type": "PERCENT", "discount_value": 0},
        {"discount_type": "PERCENT", "discount_value": 101},
        {
            "discount_type": "FIXED",
            "discount_value": 1_000,
            "max_discount": 500,
        },  # a cap only caps a percentage
        {"max_discount": 0},
        {"min_order_amount": -1},
        {"valid_until": START},
        {"discount_type": "CASHBACK"},
    ],
)
async def test_a_definition_that_makes_no_sense_is_refused(world: World, changes: dict[str, Any]) -> None:
    with pytest.raises(DomainError) as refused:
        await world.service.define_coupon(**{**VALID, **changes})
    assert refused.value.code == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"max_discount": None},
        {"discount_type": "FIXED", "discount_value": 1, "max_discount": None},
        {"discount_value": 100},
        {"min_order_amount": 0},
    ],
)
async def test_sensible_definitions_are_accepted(world: World, changes: dict[str, Any]) -> None:
    defined = await world.service.define_coupon(**{**VALID, **changes})
    assert defined.id.startswith("cpn_")
    assert defined.discount_value == {**VALID, **changes}["discount_value"]


async def test_issuing_needs_an_existing_coupon_and_member(world: World) -> None:
    defined = await world.service.define_coupon(**VALID)
    member = world.member()

    issued = await world.service.issue_coupon(defined.id, member)

    assert (issued.id[:4], issued.member_id, issued.status, issued.definition) == (
        "icp_",
        member,
        "AVAILABLE",
        defined,
    )
    with pytest.raises(NotFound):
        await world.service.issue_coupon(defined.id, "mem_nobody")
    with pytest.raises(NotFound):
        await world.service.issue_coupon("cpn_nothing", member)


async def test_members_see_their_coupons_available_used_or_expired(world: World) -> None:
    member, other = world.member(), world.member()
    soon_gone = await world.coupon(member, valid_until=START + timedelta(hours=1))
    to_use = await world.coupon(member, discount_value=1_000)
    await world.coupon(other)
    await world.place(member, 5_000, pg(4_000), coupon_leg(to_use.id, 1_000))
    world.clock.advance(timedelta(hours=2))

    held = await world.service.member_coupons(member)

    assert [(h.coupon.id, h.status) for h in held] == [(to_use.id, "USED"), (soon_gone.id, "EXPIRED")]
    assert world.service.status_now(soon_gone) == "EXPIRED"
    first_page = await world.service.member_coupons(member, limit=1)
    rest = await world.service.member_coupons(member, limit=1, before=first_page[0].coupon.id)
    assert [h.coupon.id for h in first_page + rest] == [to_use.id, soon_gone.id]


async def test_history_shows_the_legs_to_their_owner_and_admins_only(world: World) -> None:
    member, stranger = world.member(points=1_000), world.member()
    placed = await world.place(member, 5_000, pg(4_000), point(1_000))

    legs = await world.service.history(member, placed.order_id)

    assert [(leg.method, leg.amount, leg.status) for leg in legs] == [
        ("PG", 4_000, "APPROVED"),
        ("POINT", 1_000, "APPROVED"),
    ]
    assert all(leg.approved_at == START for leg in legs)
    assert len(await world.service.history(stranger, placed.order_id, is_admin=True)) == 2
    with pytest.raises(NotFound):
        await world.service.history(stranger, placed.order_id)
    with pytest.raises(NotFound):
        await world.service.history(member, "ord_unknown")
