"""A new payment is validated before it is first stored: its first write, with the event's inbox claim,
already says how validation ended (refused and FAILED, or its first leg started), and a runner that stops
right after that write leaves a payment the reconciler finishes, taking nothing twice."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from market.payment.adapters.memory import memory_uow
from market.payment.adapters.rows import payment_from_row
from market.payment.domain.payment import Payment
from market.payment.ports import UnitOfWork
from market.payment.use_cases import PaymentService
from tests.unit.payment.conftest import LEASE, World, pg, point

AFTER_LEASE = LEASE + timedelta(seconds=1)


def record_writes(world: World) -> list[Payment]:
    """Swap in a service whose every committed write of a payment is recorded, in commit order."""
    inner = memory_uow(world.state)
    written: list[Payment] = []

    @asynccontextmanager
    async def uow() -> AsyncIterator[UnitOfWork]:
        before = copy.deepcopy(world.state.payments)
        async with inner() as tx:
            yield tx
        after = world.state.payments
        written.extend(payment_from_row(r) for k, r in after.items() if before.get(k) != r)

    world.service = PaymentService(
        uow=uow,
        clock=world.clock,
        points=world.points,
        cards=world.card,
        bnpl=world.bnpl,
        lease_seconds=LEASE.total_seconds(),
    )
    return written


async def test_the_first_write_of_an_accepted_payment_has_its_first_leg_started(world: World) -> None:
    member = world.member(points=1_000)
    written = record_writes(world)

    await world.place(member, 5_000, pg(4_000), point(1_000))

    first, *_ = written
    assert (first.status, first.validated, first.attempts) == ("PROCESSING", True, 1)
    assert [(leg.method, leg.started_at is not None) for leg in first.in_taking_order()] == [
        ("POINT", True),
        ("PG", False),
    ]
    # Inserted started, saved once between the legs, then completed: no write before the first take.
    assert [p.status for p in written] == ["PROCESSING", "PROCESSING", "COMPLETED"]


async def test_a_refused_payment_is_written_once_failed_with_one_event(world: World) -> None:
    member = world.member(points=500)
    written = record_writes(world)

    placed = await world.place(member, 5_000, pg(4_000), point(1_000))

    [payment] = written
    assert (payment.order_id, payment.status, payment.failure_reason) == (
        placed.order_id,
        "FAILED",
        "INSUFFICIENT_POINTS",
    )
    assert (payment.lease_until, payment.attempts) == (None, 1)
    assert [leg.status for leg in payment.legs] == ["SKIPPED", "SKIPPED"]
    [failed] = world.events(placed.order_id)
    assert (failed.type, failed.payload["reason"]) == ("PaymentFailed", "INSUFFICIENT_POINTS")
    assert [leg["status"] for leg in failed.payload["legs"]] == ["SKIPPED", "SKIPPED"]
    assert world.points.use_calls == 0 and world.points.balances[member] == 500
    assert await world.charges(placed.order_id) == []
    world.clock.advance(AFTER_LEASE)
    assert await world.service.reconcile_once() == 0


async def test_a_stop_right_after_the_first_write_is_resumed_and_charges_once(world: World) -> None:
    member = world.member()
    world.card.crash_after_confirm = True  # charged, then the runner hears nothing (as if it died)
    placed = await world.place(member, 6_000, pg(6_000))

    stuck = await world.payment(placed.order_id)
    assert (stuck.status, stuck.attempts, stuck.lease_until) == ("PROCESSING", 1, world.clock.now() + LEASE)
    assert stuck.legs[0].started_at is not None and stuck.legs[0].status == "PENDING"
    world.card.crash_after_confirm = False
    assert await world.service.reconcile_once() == 0  # the lease still holds

    world.clock.advance(AFTER_LEASE)
    assert await world.service.reconcile_once() == 1

    payment = await world.payment(placed.order_id)
    assert (payment.status, payment.attempts) == ("COMPLETED", 2)
    assert world.card.confirms == 1  # the started leg was looked up at the PG, not confirmed again
    [charge] = await world.charges(placed.order_id)
    assert payment.legs[0].pg_payment_key == charge["payment_key"]
    assert [e.type for e in world.events(placed.order_id)] == ["PaymentCompleted"]


async def test_a_started_leg_the_pg_then_declines_fails_once_after_resuming(world: World) -> None:
    member = world.member()
    world.card.down.add("confirm")
    placed = await world.place(member, 6_000, pg(6_000, "pk_test_decline"))
    world.card.down.clear()

    world.clock.advance(AFTER_LEASE)
    assert await world.service.reconcile_once() == 1

    payment = await world.payment(placed.order_id)
    assert (payment.status, payment.failure_reason) == ("FAILED", "PG_DECLINED")
    assert [e.type for e in world.events(placed.order_id)] == ["PaymentFailed"]
    assert await world.charges(placed.order_id) == []


async def test_a_balance_that_cannot_be_read_leaves_the_payment_to_the_reconciler(world: World) -> None:
    member = world.member(points=1_000)
    world.points.down.add("balance")

    placed = await world.place(member, 5_000, pg(4_000), point(1_000))

    stuck = await world.payment(placed.order_id)
    assert (stuck.status, stuck.validated) == ("PROCESSING", False)
    assert world.events(placed.order_id) == [] and world.points.use_calls == 0
    assert world.card.confirms == 0
    world.points.down.clear()

    world.clock.advance(AFTER_LEASE)
    assert await world.service.reconcile_once() == 1

    assert (await world.payment(placed.order_id)).status == "COMPLETED"
    assert [e.type for e in world.events(placed.order_id)] == ["PaymentCompleted"]
    assert world.points.balances[member] == 0 and world.card.confirms == 1


async def test_a_duplicate_while_the_first_is_in_flight_changes_nothing(world: World) -> None:
    member = world.member(points=1_000)
    world.card.down.add("confirm")
    placed = await world.place(member, 5_000, pg(4_000), point(1_000))
    in_flight = copy.deepcopy(world.state.payments)

    await world.service.handle(placed)

    assert world.state.payments == in_flight
    assert world.events(placed.order_id) == []
    assert world.points.use_calls == 1 and world.card.confirms == 0


async def test_a_duplicate_that_would_now_be_refused_changes_nothing(world: World) -> None:
    member = world.member(points=1_000)
    placed = await world.place(member, 5_000, pg(4_000), point(1_000))
    refused = await world.place(member, 5_000, pg(5_500))  # AMOUNT_MISMATCH
    stored = copy.deepcopy(world.state.payments)

    await world.service.handle(placed)  # its points are spent now: validation alone would refuse it
    await world.service.handle(refused)

    assert world.state.payments == stored
    assert [e.type for e in world.events(placed.order_id)] == ["PaymentCompleted"]
    assert [e.type for e in world.events(refused.order_id)] == ["PaymentFailed"]
    assert world.points.use_calls == 1 and world.card.confirms == 1
