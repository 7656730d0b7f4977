"""The payment repositories over SQL (SQLite embedded, MariaDB distributed), and the SQL unit of work."""

from __future__ import annotations

import asyncio
from datetime import datetime

from market.infra.outbox import SqlInbox, SqlOutbox
from market.kernel.clock import Clock, iso, parse_iso
from market.kernel.db import Database, Tx, insert_ignore, transaction_uow
from market.kernel.messaging import Inbox, Outbox
from market.payment.adapters.rows import payment_from_row, payment_to_row
from market.payment.adapters.sql_coupons import SqlCoupons
from market.payment.domain.payment import Payment, PaymentStatus
from market.payment.ports import (
    CouponRepository,
    InFlight,
    LeaseLost,
    PaymentRepository,
    UnitOfWorkFactory,
)

_COLUMNS = (
    "order_id, member_id, status, total_amount, legs, failure_reason, attempts, lease_until, "
    "created_at, updated_at, completed_at, refunded_at, refunds"
)
_IN_FLIGHT = "('PROCESSING', 'COMPENSATING', 'REFUNDING')"


class SqlPayments:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, payment: Payment) -> bool:
        values = ", ".join(f":{c.strip()}" for c in _COLUMNS.split(","))
        changed = await self._tx.execute(
            f"{insert_ignore(self._tx.dialect)} INTO payments ({_COLUMNS}) VALUES ({values})",
            payment_to_row(payment),
        )
        return changed == 1

    async def get(self, order_id: str) -> Payment | None:
        row = await self._tx.fetchone(f"SELECT {_COLUMNS} FROM payments WHERE order_id = :o", {"o": order_id})
        return None if row is None else payment_from_row(row)

    async def save(self, payment: Payment) -> None:
        # Fenced by the lease's token in the same statement: a runner that lost its lease matches no row.
        # Both databases count *matched* rows (MariaDB through CLIENT_FOUND_ROWS, see infra.mysql), so
        # an update that changes nothing still answers 1 while the token is ours.
        matched = await self._tx.execute(
            "UPDATE payments SET status = :status, legs = :legs, failure_reason = :failure_reason, "
            "lease_until = :lease_until, updated_at = :updated_at, completed_at = :completed_at, "
            "refunded_at = :refunded_at, refunds = :refunds WHERE order_id = :order_id AND attempts = :attempts",
            payment_to_row(payment),
        )
        if matched != 1:
            raise LeaseLost(payment.order_id)

    async def claim(
        self, order_id: str, attempts: int, status: PaymentStatus, now: datetime, lease: datetime
    ) -> bool:
        changed = await self._tx.execute(
            "UPDATE payments SET attempts = attempts + 1, lease_until = :lease WHERE order_id = :o "
            "AND attempts = :a AND status = :s AND (lease_until IS NULL OR lease_until <= :now)",
            {"o": order_id, "a": attempts, "s": status.value, "now": iso(now), "lease": iso(lease)},
        )
        return changed == 1

    async def due(self, now: datetime, limit: int) -> list[Payment]:
        rows = await self._tx.fetchall(
            f"SELECT {_COLUMNS} FROM payments WHERE status IN {_IN_FLIGHT} AND lease_until <= :now "
            "ORDER BY lease_until LIMIT :n",
            {"now": iso(now), "n": limit},
        )
        return [payment_from_row(r) for r in rows]

    async def in_flight(self, now: datetime) -> InFlight:
        rows = await self._tx.fetchall(
            "SELECT status, COUNT(*) AS n, SUM(CASE WHEN lease_until <= :now THEN 1 ELSE 0 END) AS expired, "
            f"MIN(updated_at) AS oldest FROM payments WHERE status IN {_IN_FLIGHT} GROUP BY status",
            {"now": iso(now)},
        )
        oldest = min((str(r["oldest"]) for r in rows if r["oldest"] is not None), default=None)
        return InFlight(
            {str(r["status"]): int(r["n"]) for r in rows},
            sum(int(r["expired"] or 0) for r in rows),
            parse_iso(oldest),
        )

    async def failed_due(self, since: datetime, now: datetime, limit: int) -> list[Payment]:
        rows = await self._tx.fetchall(
            f"SELECT {_COLUMNS} FROM payments WHERE status = 'FAILED' AND lease_until <= :now "
            "AND updated_at >= :since ORDER BY lease_until LIMIT :n",
            {"now": iso(now), "since": iso(since), "n": limit},
        )
        return [payment_from_row(r) for r in rows]

    async def reschedule(self, order_id: str, seen: datetime, after: datetime) -> bool:
        changed = await self._tx.execute(
            "UPDATE payments SET lease_until = :after WHERE order_id = :o AND status = 'FAILED' "
            "AND lease_until = :seen",
            {"o": order_id, "seen": iso(seen), "after": iso(after)},
        )
        return changed == 1


class SqlUnitOfWork:
    def __init__(self, tx: Tx, clock: Clock, outbox_wake: asyncio.Event | None) -> None:
        self.payments: PaymentRepository = SqlPayments(tx)
        self.coupons: CouponRepository = SqlCoupons(tx)
        self.outbox: Outbox = SqlOutbox(tx, clock, outbox_wake)
        self.inbox: Inbox = SqlInbox(tx)


def sql_uow(db: Database, clock: Clock, outbox_wake: asyncio.Event | None = None) -> UnitOfWorkFactory:
    """The payment service's unit of work over `db`: one transaction per block."""

    return transaction_uow(db, lambda tx: SqlUnitOfWork(tx, clock, outbox_wake))
