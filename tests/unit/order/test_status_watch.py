"""The long poll's waiters (`Prefer: wait=N`): woken with the order, given up after the timeout, and
cancelled when their request is — even when the order's news arrives in the same turn."""

from __future__ import annotations

import asyncio
from typing import cast

from market.order.adapters.watch import AsyncioStatusWatch
from market.order.domain import Order


class _Order:
    id = "ord_1"


ORDER = cast(Order, _Order())


async def test_a_waiter_gets_the_order_it_waits_for_or_none_after_the_timeout() -> None:
    watch = AsyncioStatusWatch()
    waiting = asyncio.create_task(watch.wait("ord_1", 5))
    await asyncio.sleep(0)
    watch.notify(ORDER)
    assert await waiting is ORDER
    assert await watch.wait("ord_1", 0.01) is None
    assert watch.waiting == 0


async def test_a_request_cancelled_as_its_order_settles_ends_cancelled() -> None:
    watch = AsyncioStatusWatch()
    waiting = asyncio.create_task(watch.wait("ord_1", 5))
    await asyncio.sleep(0)
    watch.notify(ORDER)
    waiting.cancel()  # the client went away in the same turn
    done, _ = await asyncio.wait([waiting], timeout=1)
    assert waiting in done and waiting.cancelled()
    assert watch.waiting == 0
