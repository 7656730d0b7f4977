"""What the reporting use cases need from the outside: the read model's storage, and for a rebuild the
history of the owning services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from market.kernel.events import Envelope
from market.kernel.messaging import Inbox
from market.reporting.domain import OrderQuery, OrderRecord, SalesFigure, SalesQuery


class OrderRecords(Protocol):
    async def lock(self, order_id: str) -> OrderRecord | None:
        """The order's record, held until the unit of work ends (None: no event of it read yet)."""
        ...

    async def save(self, record: OrderRecord, before: OrderRecord | None) -> None:
        """Store the record in place of `before` (what `lock` gave); its sellers and its rows of the sales
        statistics (`sale_rows`) are written again only where they changed."""
        ...

    async def search(self, query: OrderQuery, now: datetime) -> list[OrderRecord]:
        """Up to `query.limit` records that pass every filter, newest first, older than the cursor."""
        ...

    async def sales(self, query: SalesQuery) -> list[SalesFigure]:
        """The figures per day and seller within the query's days, by day then seller."""
        ...

    async def clear(self) -> None:
        """Forget everything, the events read included (a rebuild starts from nothing)."""
        ...


class UnitOfWork(Protocol):
    """One transaction: commits when its block ends normally, rolls back when it raises."""

    @property
    def records(self) -> OrderRecords: ...

    @property
    def inbox(self) -> Inbox: ...


UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


class History(Protocol):
    """The owning services' data told as the events that made it, for a rebuild of the read model."""

    def pages(self) -> AsyncIterator[Sequence[Envelope]]:
        """Every order's events, a page of orders at a time (each order's events in order)."""
        ...
