"""The real PaymentService on the in-memory fakes, a fake member service (points) and the real sandbox
on a temporary SQLite file, driven by a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from market.infra.migrations import migrate
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import ManualClock
from market.kernel.coupons import IssuedCoupon
from market.kernel.errors import DomainError, NotFound, Unavailable
from market.kernel.events import Envelope
from market.kernel.ids import new_id
from market.payment.adapters.memory import MemoryState, memory_uow
from market.payment.adapters.toss import TossBnplGateway, TossCardGateway
from market.payment.domain.payment import Payment
from market.payment.ports import BnplContract, CardCharge, GatewayTimeout
from market.payment.use_cases import PaymentService
from market.pg_sandbox.core import MIGRATIONS, Sandbox
from market.pg_sandbox.transport import InProcessTransport
from tests.events import event

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=15)


@dataclass
class FakePoints:
    """The member service's points as payment sees them: taken once per order, given back once."""

    balances: dict[str, int] = field(default_factory=dict)
    taken: dict[str, int] = field(default_factory=dict)
    refunded: set[str] = field(default_factory=set)
    parts: dict[tuple[str, str], int] = field(default_factory=dict)
    use_calls: int = 0
    down: set[str] = field(default_factory=set)  # operations that raise Unavailable: balance, use, refund

    def _reach(self, operation: str) -> None:
        if operation in self.down:
            raise Unavailable("member")

    async def balance(self, member_id: str) -> int:
        self._reach("balance")
        if member_id not in self.balances:
            raise NotFound("member")
        return self.balances[member_id]

    async def use_points(self, member_id: str, order_id: str, amount: int) -> None:
        self._reach("use")
        self.use_calls += 1
        if order_id in self.taken:
            return
        if self.balances.get(member_id, 0) < amount:
            raise DomainError("INSUFFICIENT_POINTS")
        self.balances[member_id] -= amount
        self.taken[order_id] = amount

    async def refund_points(
        self, member_id: str, order_id: str, amount: int | None = None, refund_id: str = ""
    ) -> int:
        self._reach("refund")
        if amount is not None:  # part of it, once per refund id
            if (order_id, refund_id) not in self.parts:
                self.parts[(order_id, refund_id)] = amount
                self.balances[member_id] += amount
            return self.parts[(order_id, refund_id)]
        if order_id not in self.taken or order_id in self.refunded:
            return 0
        self.refunded.add(order_id)
        held = self.taken[order_id] - sum(a for (o, _), a in self.parts.items() if o == order_id)
        self.balances[member_id] += held
        return held


class FlakyCard:
    """The sandbox card gateway, with an outage switch per operation (confirm, cancel, lookup)."""

    def __init__(self, inner: TossCardGateway) -> None:
        self.inner = inner
        self.down: set[str] = set()
        self.confirms = 0
        self.crash_after_confirm = False  # the charge is made, then the runner dies before hearing it
        self.cancels = 0
        self.lose_cancel_answers = 0  # this many cancels are done but their answers lost

    def _reach(self, operation: str) -> None:
        if operation in self.down:
            raise Unavailable("PG")

    async def confirm(self, payment_key: str, order_id: str, amount: int) -> CardCharge:
        self._reach("confirm")
        self.confirms += 1
        charge = await self.inner.confirm(payment_key, order_id, amount)
        if self.crash_after_confirm:
            raise Unavailable("PG")
        return charge

    async def cancel(
        self, pg_payment_key: str, reason: str, amount: int | None = None, request_id: str | None = None
    ) -> CardCharge:
        self._reach("cancel")
        self.cancels += 1
        charge = await self.inner.cancel(pg_payment_key, reason, amount, request_id)
        if self.lose_cancel_answers:
            self.lose_cancel_answers -= 1
            raise GatewayTimeout("PG")  # cancelled, but the answer is lost
        return charge

    async def lookup(self, order_id: str) -> CardCharge | None:
        self._reach("lookup")
        return await self.inner.lookup(order_id)


@dataclass
class World:
    clock: ManualClock
    state: MemoryState
    points: FakePoints
    sandbox: Sandbox
    card: FlakyCard
    bnpl: TossBnplGateway
    service: PaymentService

    def member(self, points: int = 0) -> str:
        member_id = new_id("mem")
        self.points.balances[member_id] = points
        return member_id

    async def coupon(self, member_id: str, **definition: Any) -> IssuedCoupon:
        fields: dict[str, Any] = {
            "name": "Welcome",
            "discount_type": "FIXED",
            "discount_value": 3_000,
            "max_discount": None,
            "min_order_amount": 0,
            "valid_from": START - timedelta(days=1),
            "valid_until": START + timedelta(days=30),
        }
        defined = await self.service.define_coupon(**{**fields, **definition})
        return await self.service.issue_coupon(defined.id, member_id)

    async def place(
        self, member_id: str, total: int, *legs: dict[str, Any], order_id: str | None = None
    ) -> Envelope:
        """Deliver an OrderCreated for a new order paying `total` with `legs`; the envelope delivered."""
        plan = [{"payment_key": None, "coupon_id": None, **leg} for leg in legs]
        envelope = event(
            "OrderCreated",
            order_id or new_id("ord"),
            self.clock.now(),
            member_id=member_id,
            total_amount=total,
            items=[{"product_id": "prd_1", "quantity": 1, "unit_price": total}],
            payments=plan,
        )
        await self.service.handle(envelope)
        await self.service.idle()
        return envelope

    async def cancel(self, order_id: str, member_id: str) -> Envelope:
        envelope = event("OrderCancellationRequested", order_id, self.clock.now(), member_id=member_id)
        await self.service.handle(envelope)
        await self.service.idle()
        return envelope

    async def cancel_part(self, order_id: str, member_id: str, refund: int, cancellation_id: str) -> Envelope:
        """Deliver an OrderPartialCancellationRequested asking for `refund` won back."""
        envelope = event(
            "OrderPartialCancellationRequested",
            order_id,
            self.clock.now(),
            member_id=member_id,
            cancellation_id=cancellation_id,
            items=[{"product_id": "prd_1", "quantity": 1}],
            refund_amount=refund,
        )
        await self.service.handle(envelope)
        await self.service.idle()
        return envelope

    async def payment(self, order_id: str) -> Payment:
        async with memory_uow(self.state)() as uow:
            payment = await uow.payments.get(order_id)
        assert payment is not None
        return payment

    def events(self, order_id: str) -> list[Envelope]:
        return [e for e in self.state.outbox if e.order_id == order_id]

    async def charges(self, order_id: str) -> list[dict[str, Any]]:
        """What the PG sandbox holds for the order."""
        async with self.sandbox.db.transaction() as tx:
            return await tx.fetchall(
                "SELECT * FROM sandbox_card_payments WHERE order_id = :o", {"o": order_id}
            )

    async def contract(self, order_id: str) -> BnplContract | None:
        return await self.bnpl.lookup(order_id)

    async def coupon_status(self, coupon_id: str) -> tuple[str, str | None]:
        coupon = await self.service.get_issued_coupon(coupon_id)
        assert coupon is not None
        return coupon.status, coupon.order_id


def pg(amount: int, key: str = "pk_test_ok") -> dict[str, Any]:
    return {"method": "PG", "amount": amount, "payment_key": key}


def point(amount: int) -> dict[str, Any]:
    return {"method": "POINT", "amount": amount}


def coupon_leg(coupon_id: str, amount: int) -> dict[str, Any]:
    return {"method": "COUPON", "amount": amount, "coupon_id": coupon_id}


def bnpl(amount: int, key: str = "bnpl_test_ok") -> dict[str, Any]:
    return {"method": "BNPL", "amount": amount, "payment_key": key}


@pytest.fixture
async def sandbox_db(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    db = SqliteDatabase(tmp_path / "pg_sandbox.db")
    await migrate(db, MIGRATIONS)
    yield db
    await db.close()


@pytest.fixture
def world(sandbox_db: SqliteDatabase) -> World:
    clock = ManualClock(START)
    state = MemoryState()
    points = FakePoints()
    sandbox = Sandbox(sandbox_db, clock)
    card = FlakyCard(TossCardGateway(InProcessTransport(sandbox)))
    bnpl_gateway = TossBnplGateway(InProcessTransport(sandbox))
    service = PaymentService(
        uow=memory_uow(state),
        clock=clock,
        points=points,
        cards=card,
        bnpl=bnpl_gateway,
        lease_seconds=LEASE.total_seconds(),
    )
    return World(clock, state, points, sandbox, card, bnpl_gateway, service)
