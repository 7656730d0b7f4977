"""ReportingService: the read side's use cases — read the events into the read model, search orders, add up
sales, rebuild it all from the owning services' data."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, timedelta

from market.kernel.clock import Clock
from market.kernel.errors import DomainError
from market.kernel.events import Envelope, MalformedEvent
from market.reporting.domain import (
    STATUSES,
    OrderQuery,
    OrderRecord,
    SalesFigure,
    SalesQuery,
    follows,
    kst_day,
    project,
)
from market.reporting.ports import History, UnitOfWorkFactory

log = logging.getLogger("market.reporting")

MAX_PAGE = 100
MAX_DAYS = 366
DEFAULT_DAYS = 31


def _read(record: OrderRecord | None, events: Sequence[Envelope]) -> OrderRecord | None:
    """The record once the order's events are read, in turn (a malformed one is logged and skipped)."""
    for envelope in events:
        try:
            changed = project(record, envelope)
        except MalformedEvent as exc:
            log.error(
                "reporting skips %s %s of %s: %s", envelope.type, envelope.event_id, envelope.order_id, exc
            )
            continue
        record = changed if changed is not None else record
    return record


def invalid(field: str, message: str) -> DomainError:
    return DomainError(
        "VALIDATION_ERROR", f"{field}: {message}", errors=[{"field": field, "message": message}]
    )


class ReportingService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        """Read order and payment events into the read model, in one transaction; each event once. The
        events of one order are read together: its record locked once and written once."""
        async with self._uow() as uow:
            by_order: dict[str, list[Envelope]] = {}
            for envelope in envelopes:
                if follows(envelope) and await uow.inbox.claim(envelope):
                    by_order.setdefault(envelope.order_id, []).append(envelope)
            # Locked in one order, so that two replicas reading the same orders from two topics take turns.
            for order_id in sorted(by_order):
                before = await uow.records.lock(order_id)
                after = _read(before, by_order[order_id])
                if after is not None and after != before:
                    await uow.records.save(after, before)

    async def handle(self, envelope: Envelope) -> None:
        """Read one event (see `handle_batch`)."""
        await self.handle_batch([envelope])

    async def search_orders(self, query: OrderQuery) -> list[OrderRecord]:
        """Every member's orders that pass the filters, newest first: up to `limit` + 1 (the extra one says
        that there is a next page). What the read model has read so far: it may lag by seconds."""
        if query.status is not None and query.status not in STATUSES:
            raise invalid("status", f"must be one of {', '.join(STATUSES)}")
        if query.created_from and query.created_to and query.created_from >= query.created_to:
            raise invalid("from", "must be before `to`")
        limit = max(1, min(query.limit, MAX_PAGE))
        wanted = OrderQuery(**{**query.__dict__, "limit": limit + 1})
        async with self._uow() as uow:
            return await uow.records.search(wanted, self._clock.now())

    async def sales(
        self, first_day: date | None, last_day: date | None, seller_id: str | None = None
    ) -> list[SalesFigure]:
        """The sales figures per KST day and seller, from `first_day` to `last_day` (both included; by
        default the last 31 days up to today), by day then seller."""
        last = last_day or date.fromisoformat(kst_day(self._clock.now()))
        first = first_day or last - timedelta(days=DEFAULT_DAYS - 1)
        if first > last:
            raise invalid("from", "must not be after `to`")
        if (last - first).days >= MAX_DAYS:
            raise invalid("to", f"a query spans at most {MAX_DAYS} days")
        async with self._uow() as uow:
            return await uow.records.sales(SalesQuery(first, last, seller_id))

    async def rebuild(self, history: History) -> int:
        """Forget the read model and read it again from the owning services' data; how many events were
        read. Idempotent: the events of a rebuild have ids of their own, the same every time."""
        async with self._uow() as uow:
            await uow.records.clear()
        read = 0
        async for page in history.pages():
            await self.handle_batch(page)
            read += len(page)
        log.info("reporting: read model rebuilt from %d events", read)
        return read
