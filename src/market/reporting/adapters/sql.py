"""The read model over SQL (SQLite embedded, MariaDB distributed): the same statements on both."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

import orjson

from market.infra.outbox import SqlInbox
from market.kernel import codec
from market.kernel.clock import iso
from market.kernel.db import Database, Tx, insert_ignore, transaction_uow
from market.kernel.db import for_update as lock_clause
from market.reporting.domain import (
    IN_FLIGHT,
    STUCK_AFTER,
    OrderQuery,
    OrderRecord,
    SalesFigure,
    SalesQuery,
    sale_rows,
)

_SALE_COLUMNS = "order_id, seller_id, day, orders, gross_amount, refunded_amount"


class SqlOrderRecords:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def lock(self, order_id: str) -> OrderRecord | None:
        row = await self._locked(order_id)
        if row is None:
            # The first event of the order: a row to lock first, so that two replicas reading its events
            # (from two topics) take turns instead of one overwriting the other. Under READ COMMITTED the
            # second one's insert waits for the first one's COMMIT, then reads its record.
            await self._tx.execute(
                f"{insert_ignore(self._tx.dialect)} INTO report_orders (id, member_id, status, updated_at)"
                " VALUES (:id, '', 'PENDING', '')",
                {"id": order_id},
            )
            row = await self._locked(order_id)
        return codec.build(OrderRecord, orjson.loads(row["record"])) if row and row["record"] else None

    async def _locked(self, order_id: str) -> Any:
        return await self._tx.fetchone(
            f"SELECT record FROM report_orders WHERE id = :id{lock_clause(self._tx.dialect)}",
            {"id": order_id},
        )

    async def save(self, record: OrderRecord, before: OrderRecord | None) -> None:
        await self._tx.execute(
            "UPDATE report_orders SET member_id = :m, status = :s, created_at = :c, updated_at = :u,"
            " record = :r WHERE id = :id",
            {
                "id": record.id,
                "m": record.member_id,
                "s": record.status,
                "c": iso(record.created_at),
                "u": iso(record.updated_at) or "",
                "r": orjson.dumps(codec.plain(record)).decode(),
            },
        )
        # A record saved before has rows to replace; one read for the first time has none yet.
        sellers_before = before.sellers if before is not None else frozenset()
        if record.sellers != sellers_before:
            if sellers_before:
                await self._tx.write("DELETE FROM report_order_sellers WHERE order_id = :o", {"o": record.id})
            if record.sellers:
                await self._tx.executemany(
                    "INSERT INTO report_order_sellers (seller_id, order_id) VALUES (:s, :o)",
                    [{"s": seller_id, "o": record.id} for seller_id in sorted(record.sellers)],
                )
        rows, rows_before = sale_rows(record), sale_rows(before) if before is not None else []
        if rows != rows_before:
            if rows_before:
                await self._tx.write("DELETE FROM report_sales WHERE order_id = :o", {"o": record.id})
            if rows:
                await self._tx.executemany(
                    f"INSERT INTO report_sales ({_SALE_COLUMNS}) VALUES (:order_id, :seller_id, :day,"
                    " :orders, :gross_amount, :refunded_amount)",
                    [r.__dict__ for r in rows],
                )

    async def search(self, query: OrderQuery, now: datetime) -> list[OrderRecord]:
        where, params = _filters(query, now)
        rows = await self._tx.fetchall(
            f"SELECT record FROM report_orders WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT :n",
            {**params, "n": query.limit},
        )
        return [codec.build(OrderRecord, orjson.loads(r["record"])) for r in rows]

    async def sales(self, query: SalesQuery) -> list[SalesFigure]:
        seller = " AND seller_id = :s" if query.seller_id is not None else ""
        rows = await self._tx.fetchall(
            "SELECT day, seller_id, SUM(orders) AS orders, SUM(gross_amount) AS gross,"
            " SUM(refunded_amount) AS refunded FROM report_sales"
            f" WHERE day >= :first AND day <= :last{seller} GROUP BY day, seller_id ORDER BY day, seller_id",
            {"first": query.first_day.isoformat(), "last": query.last_day.isoformat(), "s": query.seller_id},
        )
        return [
            SalesFigure(r["day"], r["seller_id"], int(r["orders"]), int(r["gross"]), int(r["refunded"]))
            for r in rows
        ]

    async def clear(self) -> None:
        for table in ("report_sales", "report_order_sellers", "report_orders", "inbox"):
            await self._tx.execute(f"DELETE FROM {table}")


def _filters(query: OrderQuery, now: datetime) -> tuple[list[str], dict[str, Any]]:
    """The WHERE clauses of a search (each filter that is set) and their parameters."""
    where: list[str] = ["record IS NOT NULL"]
    params: dict[str, Any] = {}
    if query.status is not None:
        where.append("status = :status")
        params["status"] = query.status
    if query.member_id is not None:
        where.append("member_id = :member")
        params["member"] = query.member_id
    if query.seller_id is not None:
        where.append("id IN (SELECT order_id FROM report_order_sellers WHERE seller_id = :seller)")
        params["seller"] = query.seller_id
    if query.created_from is not None:
        where.append("created_at >= :created_from")
        params["created_from"] = iso(query.created_from)
    if query.created_to is not None:
        where.append("created_at < :created_to")
        params["created_to"] = iso(query.created_to)
    if query.stuck:
        where.append(f"status IN ({', '.join(repr(s) for s in IN_FLIGHT)}) AND updated_at <= :cutoff")
        params["cutoff"] = iso(now - STUCK_AFTER)
    if query.cursor is not None:
        where.append("id < :cursor")
        params["cursor"] = query.cursor
    return where, params


class SqlUnitOfWork:
    def __init__(self, tx: Tx) -> None:
        self.records = SqlOrderRecords(tx)
        self.inbox = SqlInbox(tx)


def sql_uow(db: Database) -> Callable[[], AbstractAsyncContextManager[SqlUnitOfWork]]:
    """The read model's unit-of-work factory over `db`: one transaction per block."""
    return transaction_uow(db, SqlUnitOfWork)
