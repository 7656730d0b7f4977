"""The StatusWatch of one process: requests waiting on an order (`Prefer: wait=N`) are woken on notify."""

from __future__ import annotations

import asyncio
import contextlib

from market.order.domain import Order


class AsyncioStatusWatch:
    """Waiters per order id; `notify` hands every waiter of that order its committed state (the consumer
    calls it after commit)."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Future[Order]]] = {}

    def notify(self, order: Order) -> None:
        for waiter in self._waiters.pop(order.id, set()):
            if not waiter.done():
                waiter.set_result(order)

    async def wait(self, order_id: str, timeout: float) -> Order | None:  # noqa: ASYNC109 (the port's contract)
        waiter: asyncio.Future[Order] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(order_id, set()).add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(timeout, 0.0)):  # not wait_for: it can drop a cancel (3.11)
                    return await waiter
            return None
        finally:
            waiters = self._waiters.get(order_id)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[order_id]

    @property
    def waiting(self) -> int:
        """How many requests are waiting (for tests and metrics)."""
        return sum(len(w) for w in self._waiters.values())
