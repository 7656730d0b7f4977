"""The read model in memory: the fake the unit tests run on, with the SQL adapter's behaviour."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime

from market.infra.memory import MemoryInbox, snapshot_uow
from market.reporting.domain import OrderQuery, OrderRecord, SaleRow, SalesFigure, SalesQuery, sale_rows

_Snapshot = tuple[dict[str, OrderRecord], dict[str, list[SaleRow]], set[str]]


@dataclass
class ReadModelState:
    records: dict[str, OrderRecord] = field(default_factory=dict)
    sales: dict[str, list[SaleRow]] = field(default_factory=dict)
    inbox: set[str] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def snapshot(self) -> _Snapshot:
        return dict(self.records), dict(self.sales), set(self.inbox)

    def restore(self, snap: _Snapshot) -> None:
        self.records, self.sales, self.inbox = snap


class MemoryOrderRecords:
    def __init__(self, state: ReadModelState) -> None:
        self._s = state

    async def lock(self, order_id: str) -> OrderRecord | None:
        return self._s.records.get(order_id)

    async def save(self, record: OrderRecord, before: OrderRecord | None) -> None:
        self._s.records[record.id] = record
        self._s.sales[record.id] = sale_rows(record)

    async def search(self, query: OrderQuery, now: datetime) -> list[OrderRecord]:
        found = [r for r in self._s.records.values() if _passes(r, query, now)]
        return sorted(found, key=lambda r: r.id, reverse=True)[: query.limit]

    async def sales(self, query: SalesQuery) -> list[SalesFigure]:
        first, last = query.first_day.isoformat(), query.last_day.isoformat()
        sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        for rows in self._s.sales.values():
            for row in rows:
                if first <= row.day <= last and query.seller_id in (None, row.seller_id):
                    figures = sums[(row.day, row.seller_id)]
                    figures[0] += row.orders
                    figures[1] += row.gross_amount
                    figures[2] += row.refunded_amount
        return [SalesFigure(day, seller, *figures) for (day, seller), figures in sorted(sums.items())]

    async def clear(self) -> None:
        self._s.records.clear()
        self._s.sales.clear()
        self._s.inbox.clear()


def _passes(r: OrderRecord, q: OrderQuery, now: datetime) -> bool:
    created = r.created_at
    return (
        (q.status is None or r.status == q.status)
        and (q.member_id is None or r.member_id == q.member_id)
        and (q.seller_id is None or q.seller_id in r.sellers)
        and (q.created_from is None or (created is not None and created >= q.created_from))
        and (q.created_to is None or (created is not None and created < q.created_to))
        and (not q.stuck or r.stuck(now))
        and (q.cursor is None or r.id < q.cursor)
    )


class MemoryUnitOfWork:
    def __init__(self, state: ReadModelState) -> None:
        self.records = MemoryOrderRecords(state)
        self.inbox = MemoryInbox(state.inbox)


def memory_uow(
    state: ReadModelState | None = None,
) -> Callable[[], AbstractAsyncContextManager[MemoryUnitOfWork]]:
    """A unit-of-work factory over `state` (a fresh one if not given); blocks never interleave."""
    return snapshot_uow(state if state is not None else ReadModelState(), MemoryUnitOfWork)
