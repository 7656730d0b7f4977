"""The StatusWatch: requests waiting on an order (`Prefer: wait=N`) are woken when it changes, whichever
replica's consumer changed it.

The consumer of this process notifies at once, with the committed order. A change committed by another
replica is seen by one poll of the database for every order waited on here (the orders' versions, one
statement per `interval` however many requests wait), which wakes the waiters whose order's version is no
longer the one they saw (a partial cancellation settles without a change of status); they read it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from market.order.domain import Order

log = logging.getLogger("market.order.watch")

Statuses = Callable[[Sequence[str]], Awaitable[dict[str, str]]]


class _Waiter:
    __slots__ = ("future", "seen")

    def __init__(self, future: asyncio.Future[Order | None], seen: str) -> None:
        self.future, self.seen = future, seen


class StatusWatch:
    def __init__(self, statuses: Statuses, interval: float = 0.1) -> None:
        self._statuses = statuses
        self._interval = interval
        self._waiters: dict[str, set[_Waiter]] = {}
        self._poller: asyncio.Task[None] | None = None

    def notify(self, order: Order) -> None:
        for waiter in self._waiters.pop(order.id, set()):
            if not waiter.future.done():
                waiter.future.set_result(order)

    async def wait(self, order_id: str, seen: str, timeout: float) -> Order | None:  # noqa: ASYNC109
        waiter = _Waiter(asyncio.get_running_loop().create_future(), seen)
        self._waiters.setdefault(order_id, set()).add(waiter)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll())
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(timeout, 0.0)):  # not wait_for: it can drop a cancel (3.11)
                    return await waiter.future
            return None
        finally:
            waiters = self._waiters.get(order_id)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[order_id]

    async def _poll(self) -> None:
        """While anyone waits: every `interval`, wake the waiters whose order changed elsewhere."""
        while self._waiters:
            await asyncio.sleep(self._interval)
            ids = list(self._waiters)
            try:
                now = await self._statuses(ids)
            except Exception:
                log.exception("could not poll the status of %d waited orders", len(ids))
                continue
            for order_id in ids:
                for waiter in self._waiters.get(order_id, ()):
                    if now.get(order_id, waiter.seen) != waiter.seen and not waiter.future.done():
                        waiter.future.set_result(None)

    @property
    def waiting(self) -> int:
        """How many requests are waiting (for tests and metrics)."""
        return sum(len(w) for w in self._waiters.values())
