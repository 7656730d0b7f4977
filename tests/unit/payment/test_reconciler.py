"""A saga interrupted anywhere is finished by the reconciler once its lease expires, charging at most once;
and no card charge outlives a failed payment."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from market.payment.adapters.memory import memory_uow
from market.payment.ports import CardCharge, InFlight
from market.payment.use_cases import PaymentService
from tests.unit.payment.conftest import LEASE, World, coupon_leg, pg, point

AFTER_LEASE = LEASE + timedelta(seconds=1)


async def test_points_outage_mid_saga_is_resumed_after_the_lease(world: World) -> None:
    member = world.member(points=2_000)
    coupon = await world.coupon(member, discount_value=1_000)
    world.points.down.add("use")

    placed = await world.place(member, 10_000, pg(7_000), point(2_000), coupon_leg(coupon.id, 1_000))

    stuck = await world.payment(placed.order_id)
    assert stuck.status == "PROCESSING"
    assert stuck.lease_until == world.clock.now() + LEASE
    assert world.events(placed.order_id) == []
    assert await world.coupon_status(coupon.id) == ("USED", placed.order_id)
    world.points.down.clear()
    assert await world.service.reconcile_once() == 0  # the lease still holds

    world.clock.advance(AFTER_LEASE)
    assert await world.service.reconcile_once() == 1

    payment = await world.payment(placed.order_id)
    assert (payment.status, payment.attempts) == ("COMPLETED", 2)
    assert [e.type for e in world.events(placed.order_id)] == ["PaymentCompleted"]
    assert world.points.balances[member] == 0
    assert len(await world.charges(placed.order_id)) == 1


async def test_a_charge_made_before_a_crash_is_found_not_made_again(world: World) -> None:
    member = world.member(points=1_000)
    world.card.crash_after_confirm = True
    placed = await world.place(member, 5_000, pg(4_000), point(1_000))
    assert (await world.payment(placed.order_id)).status == "PROCESSING"
    world.card.crash_after_confirm = False

    world.clock.advance(AFTER_LEASE)
    await world.service.reconcile_once()

    payment = await world.payment(placed.order_id)
    assert payment.status == "COMPLETED"
    assert world.card.confirms == 1  # the resumed attempt looked the charge up first
    [charge] = await world.charges(placed.order_id)
    assert payment.legs[0].pg_payment_key == charge["payment_key"]
    assert world.points.balances[member] == 0


async def test_an_ambiguous_confirm_with_the_lookup_down_waits_for_the_reconciler(world: World) -> None:
    member = world.member()
    world.card.down.add("lookup")
    placed = await world.place(member, 6_000, pg(6_000, "pk_test_timeout_after_charge"))
    assert (await world.payment(placed.order_id)).status == "PROCESSING"
    world.card.down.clear()

    world.clock.advance(AFTER_LEASE)
    await world.service.reconcile_once()

    assert (await world.payment(placed.order_id)).status == "COMPLETED"
    assert len(await world.charges(placed.order_id)) == 1


async def test_a_resumed_payment_with_no_charge_at_the_pg_confirms_again(world: World) -> None:
    member = world.member()
    world.card.down.add("confirm")
    placed = await world.place(member, 6_000, pg(6_000))
    world.card.down.clear()

    world.clock.advance(AFTER_LEASE)
    await world.service.reconcile_once()

    assert (await world.payment(placed.order_id)).status == "COMPLETED"
    assert len(await world.charges(placed.order_id)) == 1


async def test_an_interrupted_compensation_still_gives_everything_back(world: World) -> None:
    member = world.member(points=3_000)
    world.card.down.add("confirm")
    placed = await world.place(member, 6_000, pg(3_000, "pk_test_decline"), point(3_000))
    world.card.down.clear()
    world.points.down.add("refund")  # the decline is heard, but points cannot be given back yet

    world.clock.advance(AFTER_LEASE)
    await world.service.reconcile_once()
    assert (await world.payment(placed.order_id)).status == "COMPENSATING"
    world.points.down.clear()

    world.clock.advance(AFTER_LEASE)
    await world.service.reconcile_once()

    payment = await world.payment(placed.order_id)
    assert (payment.status, payment.failure_reason) == ("FAILED", "PG_DECLINED")
    assert world.points.balances[member] == 3_000
    assert [e.type for e in world.events(placed.order_id)] == ["PaymentFailed"]


async def test_an_interrupted_refund_is_finished(world: World) -> None:
    member = world.member(points=1_000)
    placed = await world.place(member, 5_000, pg(4_000), point(1_000))
    world.card.down.add("cancel")
    await world.cancel(placed.order_id, member)
    assert (await world.payment(placed.order_id)).status == "REFUNDING"
    world.card.down.clear()

    world.clock.advance(AFTER_LEASE)
    await world.service.reconcile_once()

    assert (await world.payment(placed.order_id)).status == "REFUNDED"
    [charge] = await world.charges(placed.order_id)
    assert charge["status"] == "CANCELED"
    assert world.points.balances[member] == 1_000
    assert [e.type for e in world.events(placed.order_id)] == ["PaymentCompleted", "PaymentRefunded"]


async def test_an_orphan_charge_of_a_failed_payment_is_cancelled(world: World) -> None:
    member = world.member()
    placed = await world.place(member, 6_000, pg(6_000, "pk_test_timeout"))
    assert (await world.payment(placed.order_id)).failure_reason == "PG_TIMEOUT"
    # The confirm that went unanswered lands at the PG after all.
    late = await world.sandbox.confirm(
        {"paymentKey": "pk_test_ok", "orderId": placed.order_id, "amount": 6_000}
    )
    assert late.status == 200

    assert await world.service.reconcile_once() == 1

    [charge] = await world.charges(placed.order_id)
    assert (charge["status"], charge["balance_amount"]) == ("CANCELED", 0)
    assert await world.service.reconcile_once() == 0


async def test_orphans_are_looked_for_again_later_but_not_after_an_hour(world: World) -> None:
    member = world.member()
    placed = await world.place(member, 6_000, pg(6_000, "pk_test_decline"))
    assert await world.service.reconcile_once() == 0  # checked once: nothing there

    await world.sandbox.confirm({"paymentKey": "pk_test_ok", "orderId": placed.order_id, "amount": 6_000})
    assert await world.service.reconcile_once() == 0  # not due again yet
    world.clock.advance(timedelta(minutes=1))
    assert await world.service.reconcile_once() == 1

    other = await world.place(member, 6_000, pg(6_000, "pk_test_decline"))
    world.clock.advance(timedelta(hours=2))
    await world.sandbox.confirm({"paymentKey": "pk_test_ok", "orderId": other.order_id, "amount": 6_000})
    assert await world.service.reconcile_once() == 0


async def test_two_reconcilers_never_drive_the_same_payment(world: World) -> None:
    member = world.member(points=1_000)
    world.points.down.add("use")
    placed = await world.place(member, 5_000, pg(4_000), point(1_000))
    world.points.down.clear()
    twin = PaymentService(
        uow=memory_uow(world.state),
        clock=world.clock,
        points=world.points,
        cards=world.card,
        bnpl=world.bnpl,
        lease_seconds=LEASE.total_seconds(),
    )

    world.clock.advance(AFTER_LEASE)
    touched = await asyncio.gather(world.service.reconcile_once(), twin.reconcile_once())

    assert sorted(touched) == [0, 1]
    assert (await world.payment(placed.order_id)).attempts == 2
    assert [e.type for e in world.events(placed.order_id)] == ["PaymentCompleted"]
    assert world.card.confirms == 1


async def test_a_runner_that_lost_its_lease_cannot_write(world: World) -> None:
    member = world.member()
    inside, gate = asyncio.Event(), asyncio.Event()
    confirm = world.card.confirm

    async def slow_confirm(payment_key: str, order_id: str, amount: int) -> CardCharge:
        if not inside.is_set():
            inside.set()
            await gate.wait()  # the first runner hangs inside the PG call, past its lease
        return await confirm(payment_key, order_id, amount)

    world.card.confirm = slow_confirm  # type: ignore[method-assign]
    first = asyncio.create_task(world.place(member, 5_000, pg(5_000), order_id="ord_slow"))
    await inside.wait()
    world.clock.advance(AFTER_LEASE)
    assert await world.service.reconcile_once() == 1
    assert (await world.payment("ord_slow")).status == "COMPLETED"

    gate.set()
    await first  # its confirm hears the same charge, but its write is refused: it stops

    assert [e.type for e in world.events("ord_slow")] == ["PaymentCompleted"]
    assert len(await world.charges("ord_slow")) == 1
    assert (await world.payment("ord_slow")).attempts == 2


class RecordedRuns:
    """The metrics the reconciler reports after each run (what the operators' console shows)."""

    def __init__(self) -> None:
        self.runs: list[tuple[InFlight, int]] = []

    def observe(self, method: str, action: str, outcome: str, seconds: float) -> None:
        return None

    def reconciled(self, in_flight: InFlight, resumed: int, at: datetime) -> None:
        self.runs.append((in_flight, resumed))


async def test_each_run_reports_what_is_still_in_flight_and_what_it_took_over(world: World) -> None:
    member = world.member(points=1_000)
    world.points.down.add("use")  # the payment cannot go on: it stays PROCESSING
    placed_at = world.clock.now()
    await world.place(member, 5_000, pg(4_000), point(1_000))
    recorded = RecordedRuns()
    reconciler = PaymentService(
        uow=memory_uow(world.state),
        clock=world.clock,
        points=world.points,
        cards=world.card,
        bnpl=world.bnpl,
        metrics=recorded,
        lease_seconds=LEASE.total_seconds(),
    )

    await reconciler.reconcile_once()
    world.clock.advance(AFTER_LEASE)
    await reconciler.reconcile_once()  # took it over; still stuck, leased again
    world.points.down.clear()
    world.clock.advance(AFTER_LEASE)
    await reconciler.reconcile_once()

    assert recorded.runs == [
        (InFlight({"PROCESSING": 1}, 0, placed_at), 0),
        (InFlight({"PROCESSING": 1}, 0, placed_at), 1),  # taken over, but it did not move
        (InFlight({}, 0, None), 1),
    ]
