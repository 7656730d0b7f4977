"""Following an order until it settles (`Prefer: wait=N`): what "settled" means for the order in hand, and
the wait itself, woken by the status watch whenever the order changes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection

from market.kernel.errors import NotFound
from market.order.domain import Order, OrderStatus
from market.order.ports import StatusWatch, UnitOfWorkFactory
from market.order.use_cases.idempotency import Settle

MAX_WAIT = 10
PLACED_SETTLED = frozenset({OrderStatus.PAID, OrderStatus.FAILED})
CANCEL_SETTLED = frozenset({OrderStatus.CANCELLED})
# What a request waits for (`Prefer: wait`) when it finds an order in flight.
IN_FLIGHT = {OrderStatus.PENDING: PLACED_SETTLED, OrderStatus.CANCELLING: CANCEL_SETTLED}
Settled = Callable[[Order], bool]


def status_in(statuses: Collection[str]) -> Settled:
    return lambda order: order.status in statuses


def placed(order: Order) -> Settled:
    """A placement settles once the order is PAID or FAILED."""
    return status_in(PLACED_SETTLED)


def cancelled(cancelling: Order) -> Settled:
    """Settled once the cancellation under way in `cancelling` went through (a whole one: CANCELLED)."""
    pending = cancelling.pending_cancellation
    if pending is None:
        return status_in(CANCEL_SETTLED)
    return lambda order: not any(c.id == pending.id and c.pending for c in order.cancellations)


def in_flight(order: Order) -> Settled | None:
    """What an order in flight (PENDING, CANCELLING, a cancellation pending) settles by; None if it is not."""
    if order.status in IN_FLIGHT:
        return status_in(IN_FLIGHT[order.status])
    if order.pending_cancellation is not None:
        return cancelled(order)
    return None


def clamp(wait: float) -> float:
    return max(0.0, min(float(wait), MAX_WAIT))


class Following:
    def __init__(self, *, uow: UnitOfWorkFactory, watch: StatusWatch) -> None:
        self._uow = uow
        self._watch = watch

    def settle(self, wait: float, settled_of: Callable[[Order], Settled]) -> Settle | None:
        """What a keyed request waits with (`Idempotency.run`'s settle), or None without a wait."""
        wait = clamp(wait)
        if wait <= 0:
            return None

        async def settle(order: Order) -> tuple[Order, int]:
            settled = settled_of(order)
            return await self.follow(order.id, wait, lambda _: settled), int(wait)

        return settle

    async def follow(self, order_id: str, seconds: float, settled_of: Callable[[Order], Settled]) -> Order:
        """The order once it settles (as `settled_of` the first read says), or as it is after `seconds`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        settled: Settled | None = None
        while True:
            async with self._uow() as uow:
                order = await uow.orders.get(order_id)
            if order is None:
                raise NotFound("order")
            if settled is None:
                settled = settled_of(order)  # the first read decides what "settled" means
            remaining = deadline - loop.time()
            if settled(order) or remaining <= 0:
                return order
            notified = await self._watch.wait(order_id, order.version, remaining)
            # The state the consumer committed, no need to read it again; else read it again.
            if notified is not None and settled(notified):
                return notified
