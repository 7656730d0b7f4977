"""SQL order repositories over `market.kernel.db.Tx`, the same statements on SQLite and MariaDB.

An order's lines, payment legs and timeline are values of the aggregate, never read or changed apart
from it, so they are stored with it as JSON columns: placing an order stays one INSERT, a status change
one UPDATE, and reading an order one row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson

from market.infra.outbox import SqlInbox, SqlOutbox
from market.kernel.clock import Clock, iso, parse_iso, parse_iso_required
from market.kernel.db import Database, Row, Tx, transaction_uow
from market.kernel.db import for_update as locking
from market.order.adapters.sql_keys import SqlIdempotencyKeys
from market.order.domain import Line, Order, OrderStatus, PaymentLeg, TimelineEntry

_COLUMNS = (
    "id, member_id, status, total_amount, items, payments, timeline, failure_reason, created_at, paid_at,"
    " cancelled_at, updated_at"
)
_VALUES = ", ".join(f":{name.strip()}" for name in _COLUMNS.split(","))


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _row(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "member_id": order.member_id,
        "status": order.status.value,
        "total_amount": order.total_amount,
        "items": _json(
            [
                {
                    "product_id": i.product_id,
                    "name": i.name,
                    "unit_price": i.unit_price,
                    "quantity": i.quantity,
                    "line_amount": i.line_amount,
                }
                for i in order.items
            ]
        ),
        "payments": _json(
            [
                {
                    "method": p.method,
                    "amount": p.amount,
                    "status": p.status,
                    "payment_key": p.payment_key,
                    "coupon_id": p.coupon_id,
                }
                for p in order.payments
            ]
        ),
        "timeline": _json([{"at": iso(t.at), "event": t.event, "detail": t.detail} for t in order.timeline]),
        "failure_reason": order.failure_reason,
        "created_at": iso(order.created_at),
        "paid_at": iso(order.paid_at),
        "cancelled_at": iso(order.cancelled_at),
        "updated_at": iso(order.updated_at),
    }


def _order(row: Row) -> Order:
    items = orjson.loads(row["items"])
    legs = orjson.loads(row["payments"])
    timeline = orjson.loads(row["timeline"])
    return Order(
        id=row["id"],
        member_id=row["member_id"],
        status=OrderStatus(row["status"]),
        total_amount=int(row["total_amount"]),
        items=tuple(Line(i["product_id"], i["name"], i["unit_price"], i["quantity"]) for i in items),
        payments=tuple(
            PaymentLeg(p["method"], p["amount"], p["status"], p.get("payment_key"), p.get("coupon_id"))
            for p in legs
        ),
        created_at=parse_iso_required(row["created_at"]),
        timeline=tuple(
            TimelineEntry(parse_iso_required(t["at"]), t["event"], t.get("detail")) for t in timeline
        ),
        failure_reason=row["failure_reason"],
        paid_at=parse_iso(row["paid_at"]),
        cancelled_at=parse_iso(row["cancelled_at"]),
    )


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
            "UPDATE orders SET status = :status, payments = :payments, timeline = :timeline,"
            " failure_reason = :failure_reason, paid_at = :paid_at, cancelled_at = :cancelled_at,"
            " updated_at = :updated_at WHERE id = :id AND status = :was",
            {
                k: row[k]
                for k in (
                    "status",
                    "payments",
                    "timeline",
                    "failure_reason",
                    "paid_at",
                    "cancelled_at",
                    "updated_at",
                    "id",
                )
            }
            | {"was": was.value},
        )
        return changed == 1

    async def newest(self, member_id: str, limit: int, cursor: str | None) -> list[Order]:
        older = " AND id < :cursor" if cursor is not None else ""
        rows = await self._tx.fetchall(
            f"SELECT {_COLUMNS} FROM orders WHERE member_id = :m{older} ORDER BY id DESC LIMIT :n",
            {"m": member_id, "cursor": cursor, "n": limit},
        )
        return [_order(r) for r in rows]


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
