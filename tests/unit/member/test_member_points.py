"""Points: use and refund per order (exactly once), admin grants, and the ledger that explains the balance."""

from __future__ import annotations

import asyncio

import pytest

from market.kernel.errors import DomainError
from market.member.adapters.memory import MemberState
from market.member.domain import Member
from market.member.use_cases import MemberService


@pytest.fixture
async def kim(members: MemberService) -> Member:
    member = await members.sign_up("kim@example.com", "Kim", "correct horse")
    return await members.grant_points(member.id, 10_000, "welcome")


async def balance(members: MemberService, member: Member) -> int:
    found = await members.get_member(member.id)
    assert found is not None
    return found.point_balance


def assert_ledger_explains_balances(state: MemberState) -> None:
    for member in state.members.values():
        assert member.point_balance == sum(e.delta for e in state.ledger.values() if e.member_id == member.id)
        assert member.point_balance >= 0


async def test_an_order_takes_its_points_once_however_often_it_retries(
    members: MemberService, kim: Member, state: MemberState
) -> None:
    for _ in range(3):
        await members.use_points(kim.id, "ord_1", 3_000)

    assert await balance(members, kim) == 7_000
    assert_ledger_explains_balances(state)


async def test_concurrent_retries_of_one_order_take_points_once(
    members: MemberService, kim: Member, state: MemberState
) -> None:
    await asyncio.gather(*(members.use_points(kim.id, "ord_1", 3_000) for _ in range(20)))

    assert await balance(members, kim) == 7_000
    assert_ledger_explains_balances(state)


async def test_points_never_go_negative_under_concurrent_orders(
    members: MemberService, kim: Member, state: MemberState
) -> None:
    results = await asyncio.gather(
        *(members.use_points(kim.id, f"ord_{i}", 3_000) for i in range(10)), return_exceptions=True
    )

    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 7 and {r.code for r in refused} == {"INSUFFICIENT_POINTS"}
    assert await balance(members, kim) == 1_000
    assert_ledger_explains_balances(state)


async def test_a_short_balance_refuses_the_order_and_keeps_the_points(
    members: MemberService, kim: Member
) -> None:
    with pytest.raises(DomainError) as caught:
        await members.use_points(kim.id, "ord_1", 10_001)

    assert caught.value.code == "INSUFFICIENT_POINTS"
    assert caught.value.extra == {"point_balance": 10_000}
    assert await balance(members, kim) == 10_000
    assert [e.reason for e in await members.ledger(kim.id)] == ["welcome"]


async def test_a_refund_gives_back_exactly_what_the_order_took_once(
    members: MemberService, kim: Member, state: MemberState
) -> None:
    await members.use_points(kim.id, "ord_1", 2_500)

    first = await members.refund_points(kim.id, "ord_1")
    retry = await members.refund_points(kim.id, "ord_1")

    assert first == retry == 2_500
    assert await balance(members, kim) == 10_000
    assert_ledger_explains_balances(state)


async def test_a_refund_of_an_order_that_took_nothing_gives_nothing_and_fences_a_late_use(
    members: MemberService, kim: Member
) -> None:
    assert await members.refund_points(kim.id, "ord_1") == 0

    with pytest.raises(DomainError) as caught:
        await members.use_points(kim.id, "ord_1", 1_000)

    assert caught.value.code == "POINTS_REFUNDED"
    assert await balance(members, kim) == 10_000
    assert [e.reason for e in await members.ledger(kim.id)] == ["welcome"]


async def test_the_ledger_lists_every_movement_newest_first_with_running_balances(
    members: MemberService, kim: Member
) -> None:
    await members.use_points(kim.id, "ord_1", 4_000)
    await members.refund_points(kim.id, "ord_1")
    await members.grant_points(kim.id, -500, "correction")

    entries = await members.ledger(kim.id, limit=10)
    older = await members.ledger(kim.id, limit=10, cursor=entries[1].id)

    assert [(e.delta, e.balance_after, e.kind) for e in entries] == [
        (-500, 9_500, "GRANT"),
        (4_000, 10_000, "ORDER_REFUND"),
        (-4_000, 6_000, "ORDER_USE"),
        (10_000, 10_000, "GRANT"),
    ]
    assert entries[2].order_id == "ord_1"
    assert older == entries[2:]


async def test_an_admin_cannot_take_back_more_points_than_the_member_has(
    members: MemberService, kim: Member
) -> None:
    with pytest.raises(DomainError) as caught:
        await members.grant_points(kim.id, -10_001, "too much")

    assert caught.value.code == "INSUFFICIENT_POINTS"
    assert (await members.grant_points(kim.id, -10_000, "all of it")).point_balance == 0


@pytest.mark.parametrize("amount", [0, 1_000_000_000_001])
async def test_a_grant_of_nothing_or_too_much_is_refused(
    members: MemberService, kim: Member, amount: int
) -> None:
    with pytest.raises(DomainError) as caught:
        await members.grant_points(kim.id, amount, "oops")

    assert caught.value.code == "VALIDATION_ERROR"


async def test_points_of_an_unknown_member_are_not_found(members: MemberService) -> None:
    for call in (
        members.use_points("mem_nobody", "ord_1", 10),
        members.refund_points("mem_nobody", "ord_1"),
        members.grant_points("mem_nobody", 10, "gift"),
    ):
        with pytest.raises(DomainError) as caught:
            await call
        assert caught.value.code == "NOT_FOUND"
    assert await members.get_member("mem_nobody") is None


async def test_partial_refunds_give_back_each_part_once_and_the_rest_at_the_end(
    members: MemberService, kim: Member, state: MemberState
) -> None:
    await members.use_points(kim.id, "ord_1", 3_000)
    for _ in range(2):  # a retried partial refund moves nothing again
        assert await members.refund_points(kim.id, "ord_1", 1_000, "cnl_1") == 1_000
    assert await members.refund_points(kim.id, "ord_1", 500, "cnl_2") == 500
    assert await balance(members, kim) == 8_500
    with pytest.raises(DomainError) as refused:
        await members.refund_points(kim.id, "ord_1", 1_501, "cnl_3")
    assert refused.value.code == "POINTS_REFUND_EXCEEDED"
    # The whole order's refund gives back what the order still holds.
    assert await members.refund_points(kim.id, "ord_1") == 1_500
    assert await members.refund_points(kim.id, "ord_1") == 1_500
    assert await balance(members, kim) == 10_000
    refunds = [e for e in await members.ledger(kim.id) if e.kind == "ORDER_REFUND"]
    assert [(e.delta, e.reason, e.refund_id) for e in refunds] == [
        (1_500, "REFUND", ""),
        (500, "REFUND", "cnl_2"),
        (1_000, "REFUND", "cnl_1"),
    ]
    assert_ledger_explains_balances(state)
