"""The payment repositories behave the same in memory and in SQL (SQLite): the fakes are honest."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from market.infra.migrations import migrate
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import ManualClock
from market.kernel.coupons import AVAILABLE, USED, CouponDefinition, IssuedCoupon
from market.kernel.events import Envelope
from market.kernel.plan import Leg, Method
from market.payment.adapters.memory import MemoryState, memory_uow
from market.payment.adapters.migrations import HISTORY as MIGRATIONS
from market.payment.adapters.sql import sql_uow
from market.payment.domain.payment import LegStatus, Payment, PaymentStatus
from market.payment.ports import InFlight, LeaseLost, UnitOfWorkFactory
from tests.contract.backends import SQL_BACKENDS, sql_database
from tests.events import event

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Store:
    uow: UnitOfWorkFactory
    outbox: Callable[[], Awaitable[list[str]]]  # the event ids committed to the outbox


@pytest.fixture(params=["memory", *SQL_BACKENDS])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "memory":
        state = MemoryState()

        async def memory_outbox() -> list[str]:
            return [e.event_id for e in state.outbox]

        yield Store(memory_uow(state), memory_outbox)
        return
    async with sql_database(request.param, tmp_path, "payment") as db:
        await migrate(db, MIGRATIONS)

        async def sql_outbox() -> list[str]:
            async with db.transaction() as tx:
                return [r["event_id"] for r in await tx.fetchall("SELECT event_id FROM outbox ORDER BY seq")]

        yield Store(sql_uow(db, ManualClock(T0)), sql_outbox)


def payment(order_id: str = "ord_1", lease: timedelta = timedelta(seconds=15)) -> Payment:
    legs = (
        Leg(Method.PG, 7_000, "pk_test_ok"),
        Leg(Method.POINT, 2_000),
        Leg(Method.COUPON, 1_000, None, "icp_1"),
    )
    return Payment.open(order_id, "mem_1", 10_000, legs, T0, T0 + lease)


def definition(n: int = 1) -> CouponDefinition:
    return CouponDefinition(f"cpn_{n}", "Welcome", "PERCENT", 10, 5_000, 10_000, T0, T0 + timedelta(days=30))


async def test_a_payment_reads_back_as_written(store: Store) -> None:
    p = payment()
    p.start(p.legs[0], T0)
    p.approve(p.legs[0], T0 + timedelta(seconds=1), "tpk_1")
    p.legs[1].refunded_amount, p.legs[1].refunded_at = 5, T0
    async with store.uow() as uow:
        assert await uow.payments.add(p)
        assert not await uow.payments.add(payment())  # one payment per order
    async with store.uow() as uow:
        assert await uow.payments.get("ord_1") == p
        assert await uow.payments.get("ord_2") is None


async def test_save_is_fenced_by_the_attempt(store: Store) -> None:
    async with store.uow() as uow:
        await uow.payments.add(payment())
    p = payment()
    p.refuse(p.legs[0], "PG_DECLINED")
    async with store.uow() as uow:
        await uow.payments.save(p)
    async with store.uow() as uow:
        stored = await uow.payments.get("ord_1")
    assert stored is not None and (stored.status, stored.failure_reason) == ("COMPENSATING", "PG_DECLINED")
    assert [leg.status for leg in stored.legs] == [LegStatus.FAILED, LegStatus.SKIPPED, LegStatus.SKIPPED]
    async with store.uow() as uow:
        await uow.payments.save(p)  # the same state again: not a lost lease (the row still matches)
    p.attempts = 7
    with pytest.raises(LeaseLost):
        async with store.uow() as uow:
            await uow.payments.save(p)


async def test_claim_takes_an_expired_lease_once(store: Store) -> None:
    async with store.uow() as uow:
        await uow.payments.add(payment())
    early, late = T0 + timedelta(seconds=5), T0 + timedelta(seconds=16)
    processing = PaymentStatus.PROCESSING
    async with store.uow() as uow:
        assert not await uow.payments.claim("ord_1", 1, processing, early, early + timedelta(seconds=15))
        assert not await uow.payments.claim(
            "ord_1", 1, PaymentStatus.REFUNDING, late, late + timedelta(seconds=15)
        )
        assert await uow.payments.claim("ord_1", 1, processing, late, late + timedelta(seconds=15))
        assert not await uow.payments.claim("ord_1", 1, processing, late, late + timedelta(seconds=15))
    async with store.uow() as uow:
        claimed = await uow.payments.get("ord_1")
    assert claimed is not None and (claimed.attempts, claimed.lease_until) == (
        2,
        late + timedelta(seconds=15),
    )


async def test_due_lists_in_flight_payments_past_their_lease_oldest_first(store: Store) -> None:
    done = payment("ord_done", timedelta(seconds=1))
    done.complete(T0)
    async with store.uow() as uow:
        for p in (
            payment("ord_a", timedelta(seconds=20)),
            payment("ord_b", timedelta(seconds=10)),
            payment("ord_c", timedelta(seconds=60)),
            done,
        ):
            await uow.payments.add(p)
    async with store.uow() as uow:
        due = await uow.payments.due(T0 + timedelta(seconds=30), 10)
        assert [p.order_id for p in due] == ["ord_b", "ord_a"]
        assert [p.order_id for p in await uow.payments.due(T0 + timedelta(seconds=30), 1)] == ["ord_b"]


async def test_in_flight_counts_the_payments_not_finished_and_those_past_their_lease(store: Store) -> None:
    async with store.uow() as uow:
        assert await uow.payments.in_flight(T0) == InFlight({}, 0, None)
    done, compensating = payment("ord_done", timedelta(seconds=1)), payment("ord_comp", timedelta(seconds=60))
    done.complete(T0)
    compensating.refuse(compensating.legs[0], "PG_DECLINED")
    compensating.updated_at = T0 + timedelta(seconds=3)
    async with store.uow() as uow:
        for p in (payment("ord_a", timedelta(seconds=20)), payment("ord_b", timedelta(seconds=10)),
                  compensating, done):  # fmt: skip
            await uow.payments.add(p)
    async with store.uow() as uow:
        counted = await uow.payments.in_flight(T0 + timedelta(seconds=15))
    assert counted == InFlight({"PROCESSING": 2, "COMPENSATING": 1}, 1, T0)


async def test_a_first_write_carries_the_validation_outcome(store: Store) -> None:
    started, refused = payment("ord_started"), payment("ord_refused")
    started.start(started.in_taking_order()[0], T0)  # accepted: its first leg is about to be taken
    refused.refuse(None, "INSUFFICIENT_POINTS")
    refused.fail(T0)
    async with store.uow() as uow:
        assert await uow.payments.add(started) and await uow.payments.add(refused)
    async with store.uow() as uow:
        loaded = await uow.payments.get("ord_started")
        assert loaded == started and loaded.validated
        assert await uow.payments.get("ord_refused") == refused
        late = T0 + timedelta(hours=1)
        assert [p.order_id for p in await uow.payments.due(late, 10)] == ["ord_started"]
        assert await uow.payments.failed_due(T0 - timedelta(hours=1), late, 10) == []


async def test_failed_payments_are_due_for_orphan_checks_until_rescheduled(store: Store) -> None:
    p = payment()
    p.start(p.legs[0], T0)
    p.refuse(p.legs[0], "PG_DECLINED")
    p.fail(T0)
    assert p.lease_until == T0
    async with store.uow() as uow:
        await uow.payments.add(p)
    async with store.uow() as uow:
        assert [x.order_id for x in await uow.payments.failed_due(T0 - timedelta(hours=1), T0, 10)] == [
            "ord_1"
        ]
        assert await uow.payments.failed_due(T0 + timedelta(seconds=1), T0, 10) == []  # failed before `since`
        assert await uow.payments.reschedule("ord_1", T0, T0 + timedelta(seconds=30))
        assert not await uow.payments.reschedule("ord_1", T0, T0 + timedelta(seconds=30))
        assert await uow.payments.failed_due(T0 - timedelta(hours=1), T0 + timedelta(seconds=29), 10) == []


async def test_a_block_that_raises_leaves_no_trace(store: Store) -> None:
    envelope = event("PaymentCompleted", "ord_1", T0, member_id="mem_1", legs=[], approved_at=None)
    with pytest.raises(RuntimeError):
        async with store.uow() as uow:
            await uow.payments.add(payment())
            await uow.outbox.add(envelope)
            await uow.inbox.claim(envelope)
            raise RuntimeError("crash")
    async with store.uow() as uow:
        assert await uow.payments.get("ord_1") is None
        assert await uow.inbox.claim(envelope)  # not claimed before
        assert not await uow.inbox.claim(envelope)
        await uow.outbox.add(envelope)
    assert await store.outbox() == [envelope.event_id]


async def test_coupons_read_back_and_list_newest_first(store: Store) -> None:
    d = definition()
    async with store.uow() as uow:
        await uow.coupons.add_definition(d, T0)
        assert await uow.coupons.get_definition("cpn_1") == d
        assert await uow.coupons.get_definition("cpn_9") is None
        for n in (1, 2, 3):
            await uow.coupons.issue(IssuedCoupon(f"icp_{n}", d, "mem_1", AVAILABLE), T0)
        await uow.coupons.issue(IssuedCoupon("icp_9", d, "mem_2", AVAILABLE), T0)
    async with store.uow() as uow:
        assert await uow.coupons.get_issued("icp_2") == IssuedCoupon("icp_2", d, "mem_1", AVAILABLE)
        assert await uow.coupons.get_issued("icp_0") is None
        assert [c.id for c in await uow.coupons.issued_to("mem_1", 2)] == ["icp_3", "icp_2"]
        assert [c.id for c in await uow.coupons.issued_to("mem_1", 2, "icp_2")] == ["icp_1"]


async def test_a_coupon_is_redeemed_by_one_order_and_restored_by_that_order_only(store: Store) -> None:
    d = definition()
    async with store.uow() as uow:
        await uow.coupons.add_definition(d, T0)
        await uow.coupons.issue(IssuedCoupon("icp_1", d, "mem_1", AVAILABLE), T0)
    async with store.uow() as uow:
        assert not await uow.coupons.redeem("icp_1", "mem_2", "ord_1", T0)  # not theirs
        assert await uow.coupons.redeem("icp_1", "mem_1", "ord_1", T0)
        assert await uow.coupons.redeem("icp_1", "mem_1", "ord_1", T0)  # the same order again: still its
        assert not await uow.coupons.redeem("icp_1", "mem_1", "ord_2", T0)
        assert not await uow.coupons.redeem("icp_0", "mem_1", "ord_1", T0)
        assert await uow.coupons.get_issued("icp_1") == IssuedCoupon("icp_1", d, "mem_1", USED, "ord_1")
        assert not await uow.coupons.restore("icp_1", "ord_2")
        assert await uow.coupons.restore("icp_1", "ord_1")
        assert not await uow.coupons.restore("icp_1", "ord_1")
        assert await uow.coupons.get_issued("icp_1") == IssuedCoupon("icp_1", d, "mem_1", AVAILABLE)


async def test_the_outbox_keeps_what_a_block_committed(store: Store) -> None:
    envelopes: list[Envelope] = [
        event("PaymentFailed", f"ord_{n}", T0, member_id="m", legs=[], reason="X") for n in range(3)
    ]
    for envelope in envelopes:
        async with store.uow() as uow:
            await uow.outbox.add(envelope)
    assert await store.outbox() == [e.event_id for e in envelopes]


class Points:
    def __init__(self) -> None:
        self.balance_of = {"mem_1": 5_000}
        self.taken: dict[str, int] = {}

    async def balance(self, member_id: str) -> int:
        return self.balance_of[member_id]

    async def use_points(self, member_id: str, order_id: str, amount: int) -> None:
        if order_id not in self.taken:
            self.balance_of[member_id] -= amount
            self.taken[order_id] = amount

    async def refund_points(self, member_id: str, order_id: str) -> int:
        amount = self.taken.pop(order_id, 0)
        self.balance_of[member_id] += amount
        return amount


async def test_the_whole_saga_runs_the_same_on_either_store(store: Store, tmp_path: Path) -> None:
    from market.payment.adapters.toss import TossBnplGateway, TossCardGateway
    from market.payment.use_cases import PaymentService
    from market.pg_sandbox.core import MIGRATIONS as SANDBOX
    from market.pg_sandbox.core import Sandbox
    from market.pg_sandbox.transport import InProcessTransport

    clock = ManualClock(T0)
    pg_db = SqliteDatabase(tmp_path / "pg.db")
    await migrate(pg_db, SANDBOX)
    sandbox = Sandbox(pg_db, clock)
    points = Points()
    service = PaymentService(
        uow=store.uow,
        clock=clock,
        points=points,
        cards=TossCardGateway(InProcessTransport(sandbox)),
        bnpl=TossBnplGateway(InProcessTransport(sandbox)),
    )
    d = await service.define_coupon(
        name="W",
        discount_type="FIXED",
        discount_value=1_000,
        max_discount=None,
        min_order_amount=0,
        valid_from=T0,
        valid_until=T0 + timedelta(days=1),
    )
    issued = await service.issue_coupon(d.id, "mem_1")
    plan = [
        {"method": "PG", "amount": 7_000, "payment_key": "pk_test_ok", "coupon_id": None},
        {"method": "POINT", "amount": 2_000, "payment_key": None, "coupon_id": None},
        {"method": "COUPON", "amount": 1_000, "payment_key": None, "coupon_id": issued.id},
    ]

    created = event(
        "OrderCreated", "ord_1", T0, member_id="mem_1", total_amount=10_000, items=[], payments=plan
    )
    await service.handle(created)
    await service.handle(created)
    await service.idle()
    await service.handle(event("OrderCancellationRequested", "ord_1", T0, member_id="mem_1"))
    await service.idle()

    legs = await service.history("mem_1", "ord_1")
    assert [(leg.method, leg.status, leg.refunded_amount) for leg in legs] == [
        ("PG", "REFUNDED", 7_000),
        ("POINT", "REFUNDED", 2_000),
        ("COUPON", "REFUNDED", 1_000),
    ]
    assert points.balance_of["mem_1"] == 5_000
    assert (await service.member_coupons("mem_1"))[0].status == "AVAILABLE"
    assert len(await store.outbox()) == 2

    refused = event(
        "OrderCreated", "ord_2", T0, member_id="mem_1", total_amount=9_000, items=[], payments=plan
    )
    await service.handle(refused)
    await service.handle(refused)
    await service.idle()
    assert [leg.status for leg in await service.history("mem_1", "ord_2")] == ["SKIPPED"] * 3
    assert len(await store.outbox()) == 3  # its PaymentFailed, once
    assert await service.reconcile_once() == 0
    await pg_db.close()
