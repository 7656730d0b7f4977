"""SQL order repositories over `market.kernel.db.Tx`, the same statements on SQLite and MariaDB.

An order's lines, payment legs and timeline are values of the aggregate, never read or changed apart
from it, so they are stored with it as JSON columns: placing an order stays one INSERT, a status change
one UPDATE, and reading an order one row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

import orjson
from prometheus_client import Gauge

from market.infra.batching import BatchWriter
from market.infra.outbox import SqlInbox, SqlOutbox
from market.kernel import codec
from market.kernel.clock import Clock, iso
from market.kernel.db import Database, Row, Tx, transaction_uow
from market.kernel.db import for_update as locking
from market.order.adapters.sql_keys import SqlIdempotencyKeys
from market.order.domain import Order, OrderStatus

STUCK = Gauge("market_orders_stuck", "Orders PENDING or CANCELLING past their deadline, at the last sweep")
_COLUMNS = (
    "id, member_id, status, total_amount, items, payments, timeline, failure_reason, created_at, paid_at,"
    " cancelled_at, updated_at, cancellations"
)
_SAVED = (
    "status",
    "items",
    "payments",
    "timeline",
    "failure_reason",
    "paid_at",
    "cancelled_at",
    "updated_at",
    "cancellations",
    "id",
)
_VALUES = ", ".join(f":{name.strip()}" for name in _COLUMNS.split(","))


def _json(value: Any) -> str:
    return orjson.dumps(codec.plain(value)).decode()


def _row(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "member_id": order.member_id,
        "status": order.status.value,
        "total_amount": order.total_amount,
        "items": _json(order.items),
        "payments": _json(order.payments),
        "timeline": _json(order.timeline),
        "failure_reason": order.failure_reason,
        "created_at": iso(order.created_at),
        "paid_at": iso(order.paid_at),
        "cancelled_at": iso(order.cancelled_at),
        "updated_at": iso(order.updated_at),
        "cancellations": _json(order.cancellations),
    }


def _order(row: Row) -> Order:
    fields = {
        name: orjson.loads(row[name] or "[]") for name in ("items", "payments", "timeline", "cancellations")
    }
    return codec.build(Order, {**row, **fields})


class SqlOrders:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, order: Order) -> None:
        await self._tx.write(f"INSERT INTO orders ({_COLUMNS}) VALUES ({_VALUES})", _row(order))

    async def get(self, order_id: str, for_update: bool = False) -> Order | None:
        lock = locking(self._tx.dialect) if for_update else ""
        row = await self._tx.fetchone(f"SELECT {_COLUMNS} FROM orders WHERE id = :id{lock}", {"id": order_id})
        return _order(row) if row else None

    async def save(self, order: Order, was: OrderStatus) -> bool:
        row = _row(order)
        changed = await self._tx.execute(
            "UPDATE orders SET status = :status, items = :items, payments = :payments, timeline = :timeline,"
            " failure_reason = :failure_reason, paid_at = :paid_at, cancelled_at = :cancelled_at,"
            " updated_at = :updated_at, cancellations = :cancellations WHERE id = :id AND status = :was",
            {k: row[k] for k in _SAVED} | {"was": was.value},
        )
        return changed == 1

    async def newest(
        self, member_id: str, limit: int, cursor: str | None, status: OrderStatus | None = None
    ) -> list[Order]:
        older = " AND id < :cursor" if cursor is not None else ""
        of_status = " AND status = :status" if status is not None else ""
        rows = await self._tx.fetchall(
            f"SELECT {_COLUMNS} FROM orders WHERE member_id = :m{of_status}{older} ORDER BY id DESC LIMIT :n",
            {"m": member_id, "cursor": cursor, "n": limit, "status": status and status.value},
        )
        return [_order(r) for r in rows]

    async def every(self, after: str | None, limit: int) -> list[Order]:
        """Up to `limit` orders, oldest first, after the order id `after` (a rebuild of the read model)."""
        later = "WHERE id > :after " if after is not None else ""
        rows = await self._tx.fetchall(
            f"SELECT {_COLUMNS} FROM orders {later}ORDER BY id LIMIT :n", {"after": after, "n": limit}
        )
        return [_order(r) for r in rows]

    async def stuck(self, before: datetime, limit: int) -> list[Order]:
        # A PAID order with cancellations may have one pending (a partial refund under way).
        rows = await self._tx.fetchall(
            f"SELECT {_COLUMNS} FROM orders WHERE (status IN ('PENDING', 'CANCELLING')"
            " OR (status = 'PAID' AND cancellations IS NOT NULL)) AND updated_at < :b"
            " ORDER BY updated_at LIMIT :n",
            {"b": iso(before), "n": limit},
        )
        stuck = [o for o in map(_order, rows) if o.status != OrderStatus.PAID or o.pending_cancellation]
        STUCK.set(len(stuck))
        return stuck

    async def save_timeline(self, order: Order) -> None:
        await self._tx.execute(
            "UPDATE orders SET timeline = :t, updated_at = :u WHERE id = :id",
            {"t": _json(order.timeline), "u": iso(order.updated_at), "id": order.id},
        )

    async def versions(self, order_ids: Sequence[str]) -> dict[str, str]:
        if not order_ids:
            return {}
        marks = ", ".join(f":o{i}" for i in range(len(order_ids)))
        rows = await self._tx.fetchall(
            f"SELECT id, updated_at FROM orders WHERE id IN ({marks})",
            {f"o{i}": order_id for i, order_id in enumerate(order_ids)},
        )
        return {r["id"]: r["updated_at"] for r in rows}


class SqlUnitOfWork:
    def __init__(self, tx: Tx, clock: Clock, outbox_wake: asyncio.Event | None) -> None:
        self.orders = SqlOrders(tx)
        self.idempotency_keys = SqlIdempotencyKeys(tx)
        self.outbox = SqlOutbox(tx, clock, outbox_wake)
        self.inbox = SqlInbox(tx)


def sql_uow(
    db: Database, clock: Clock, outbox_wake: asyncio.Event | None = None
) -> Callable[[], AbstractAsyncContextManager[SqlUnitOfWork]]:
    """The order service's unit-of-work factory over `db`: one transaction per block."""

    return transaction_uow(db, lambda tx: SqlUnitOfWork(tx, clock, outbox_wake))


def sql_writer(
    db: Database, clock: Clock, outbox_wake: asyncio.Event | None = None
) -> BatchWriter[SqlUnitOfWork]:
    """The order service's batched write path over `db` (infra/batching.py)."""
    return BatchWriter(db, lambda tx: SqlUnitOfWork(tx, clock, outbox_wake))
