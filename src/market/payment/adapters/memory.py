"""In-memory fakes of the payment unit of work: what the unit tests run on, with the SQL adapter's behaviour."""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from market.infra.memory import MemoryInbox, MemoryOutbox, snapshot_uow
from market.kernel.clock import iso, parse_iso
from market.kernel.coupons import AVAILABLE, USED, CouponDefinition, IssuedCoupon
from market.kernel.events import Envelope
from market.kernel.messaging import Inbox, Outbox
from market.payment.adapters.rows import issued_from_row, payment_from_row, payment_to_row
from market.payment.domain.payment import IN_FLIGHT, Payment, PaymentStatus
from market.payment.ports import (
    CouponRepository,
    InFlight,
    LeaseLost,
    PaymentRepository,
    UnitOfWorkFactory,
)


@dataclass
class MemoryState:
    """Everything the fakes store; `outbox` is the list of events committed so far."""

    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    definitions: dict[str, CouponDefinition] = field(default_factory=dict)
    issued: dict[str, dict[str, Any]] = field(default_factory=dict)
    outbox: list[Envelope] = field(default_factory=list)
    inbox: set[str] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def snapshot(self) -> tuple[Any, ...]:
        return copy.deepcopy((self.payments, self.definitions, self.issued, self.outbox, self.inbox))

    def restore(self, snap: tuple[Any, ...]) -> None:
        self.payments, self.definitions, self.issued, self.outbox, self.inbox = snap


def _lease_expired(row: dict[str, Any], now: datetime) -> bool:
    lease = parse_iso(row["lease_until"])
    return lease is None or lease <= now


class MemoryPayments:
    def __init__(self, state: MemoryState) -> None:
        self._s = state

    async def add(self, payment: Payment) -> bool:
        if payment.order_id in self._s.payments:
            return False
        self._s.payments[payment.order_id] = payment_to_row(payment)
        return True

    async def get(self, order_id: str) -> Payment | None:
        row = self._s.payments.get(order_id)
        return None if row is None else payment_from_row(row)

    async def save(self, payment: Payment) -> None:
        row = self._s.payments.get(payment.order_id)
        if row is None or row["attempts"] != payment.attempts:
            raise LeaseLost(payment.order_id)
        self._s.payments[payment.order_id] = {**payment_to_row(payment), "created_at": row["created_at"]}

    async def claim(
        self, order_id: str, attempts: int, status: PaymentStatus, now: datetime, lease: datetime
    ) -> bool:
        row = self._s.payments.get(order_id)
        if (
            row is None
            or row["attempts"] != attempts
            or row["status"] != status
            or not _lease_expired(row, now)
        ):
            return False
        row.update(attempts=attempts + 1, lease_until=iso(lease))
        return True

    async def due(self, now: datetime, limit: int) -> list[Payment]:
        rows = [
            r
            for r in self._s.payments.values()
            if r["status"] in IN_FLIGHT and r["lease_until"] is not None and r["lease_until"] <= iso(now)
        ]
        return [payment_from_row(r) for r in sorted(rows, key=lambda r: r["lease_until"])[:limit]]

    async def in_flight(self, now: datetime) -> InFlight:
        rows = [r for r in self._s.payments.values() if r["status"] in IN_FLIGHT]
        by_status: dict[str, int] = {}
        for r in rows:
            by_status[str(r["status"])] = by_status.get(str(r["status"]), 0) + 1
        expired = sum(1 for r in rows if r["lease_until"] is not None and r["lease_until"] <= iso(now))
        oldest = min((r["updated_at"] for r in rows), default=None)
        return InFlight(by_status, expired, parse_iso(oldest))

    async def failed_due(self, since: datetime, now: datetime, limit: int) -> list[Payment]:
        rows = [
            r
            for r in self._s.payments.values()
            if r["status"] == PaymentStatus.FAILED
            and r["lease_until"] is not None
            and r["lease_until"] <= iso(now)
            and r["updated_at"] >= (iso(since) or "")
        ]
        return [payment_from_row(r) for r in sorted(rows, key=lambda r: r["lease_until"])[:limit]]

    async def reschedule(self, order_id: str, seen: datetime, after: datetime) -> bool:
        row = self._s.payments.get(order_id)
        if row is None or row["status"] != PaymentStatus.FAILED or row["lease_until"] != iso(seen):
            return False
        row["lease_until"] = iso(after)
        return True


class MemoryCoupons:
    def __init__(self, state: MemoryState) -> None:
        self._s = state

    async def add_definition(self, definition: CouponDefinition, now: datetime) -> None:
        self._s.definitions[definition.id] = definition

    async def get_definition(self, coupon_id: str) -> CouponDefinition | None:
        return self._s.definitions.get(coupon_id)

    async def issue(self, coupon: IssuedCoupon, now: datetime) -> None:
        self._s.issued[coupon.id] = {
            "id": coupon.id,
            "coupon_id": coupon.definition.id,
            "member_id": coupon.member_id,
            "status": coupon.status,
            "order_id": coupon.order_id,
            "issued_at": iso(now),
            "used_at": None,
        }

    async def get_issued(self, issued_id: str) -> IssuedCoupon | None:
        row = self._s.issued.get(issued_id)
        return None if row is None else issued_from_row(row, self._s.definitions[row["coupon_id"]])

    async def issued_to(self, member_id: str, limit: int, before: str | None = None) -> list[IssuedCoupon]:
        rows = sorted(
            (
                r
                for r in self._s.issued.values()
                if r["member_id"] == member_id and (before is None or r["id"] < before)
            ),
            key=lambda r: r["id"],
            reverse=True,
        )
        return [issued_from_row(r, self._s.definitions[r["coupon_id"]]) for r in rows[:limit]]

    async def redeem(self, issued_id: str, member_id: str, order_id: str, now: datetime) -> bool:
        row = self._s.issued.get(issued_id)
        if row is None:
            return False
        if row["status"] == AVAILABLE and row["member_id"] == member_id:
            row.update(status=USED, order_id=order_id, used_at=iso(now))
            return True
        return bool(row["status"] == USED and row["order_id"] == order_id)

    async def restore(self, issued_id: str, order_id: str) -> bool:
        row = self._s.issued.get(issued_id)
        if row is None or row["status"] != USED or row["order_id"] != order_id:
            return False
        row.update(status=AVAILABLE, order_id=None, used_at=None)
        return True


class MemoryUnitOfWork:
    def __init__(self, state: MemoryState) -> None:
        self.payments: PaymentRepository = MemoryPayments(state)
        self.coupons: CouponRepository = MemoryCoupons(state)
        self.outbox: Outbox = MemoryOutbox(state.outbox)
        self.inbox: Inbox = MemoryInbox(state.inbox)


def memory_uow(state: MemoryState | None = None) -> UnitOfWorkFactory:
    """A unit of work over `state`: blocks never interleave, and one that raises leaves no trace."""
    return snapshot_uow(state if state is not None else MemoryState(), MemoryUnitOfWork)
