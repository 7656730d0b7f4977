"""Payments being driven in the background, apart from the events that asked for them.

A consumer only opens a payment (or starts a refund) and commits that with the event's inbox row; the
taking of the legs — points over gRPC, the PG over HTTP, seconds when the PG is slow — runs here, so no
consumer ever waits on another system and a slow PG holds up its own order only. A payment is leased
while it is driven: if this process dies, the lease expires and the reconciler drives it on.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable

from market.payment.domain.payment import Payment

log = logging.getLogger("market.payment")


class Drives:
    def __init__(self, drive: Callable[[Payment], Awaitable[None]], limit: int = 256) -> None:
        self._drive = drive
        self._slots = asyncio.Semaphore(limit)  # bounds the PG calls in flight, and the memory they hold
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, payment: Payment, context: contextvars.Context | None = None) -> None:
        """Drive the payment in the background, in `context` (the event's that asked for it) if given."""
        task = asyncio.create_task(self._run(payment), context=context)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, payment: Payment) -> None:
        async with self._slots:
            try:
                await self._drive(payment)
            except Exception:
                log.exception("driving the payment of %s failed; the reconciler resumes it", payment.order_id)

    async def idle(self) -> None:
        """Until no payment is being driven (the ones started meanwhile included)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Cancel the drives in flight: their payments stay leased where they stand, for the reconciler."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
