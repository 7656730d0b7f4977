"""The long poll's waiters (`Prefer: wait=N`): woken with the order by this replica's consumer, woken by the
poll when another replica moved it, given up after the timeout, and cancelled when their request is."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

from market.order.adapters.watch import StatusWatch
from market.order.domain import Order


class _Order:
    id = "ord_1"
    status = "PAID"


ORDER = cast(Order, _Order())


class Database:
    """The orders' statuses as the poll reads them, and how often it read."""

    def __init__(self) -> None:
        self.status = {"ord_1": "PENDING"}
        self.polls = 0

    async def statuses(self, order_ids: Sequence[str]) -> dict[str, str]:
        self.polls += 1
        return {i: self.status[i] for i in order_ids if i in self.status}


async def test_a_waiter_gets_the_order_it_waits_for_or_none_after_the_timeout() -> None:
    watch = StatusWatch(Database().statuses, interval=10)
    waiting = asyncio.create_task(watch.wait("ord_1", "PENDING", 5))
    await asyncio.sleep(0)
    watch.notify(ORDER)
    assert await waiting is ORDER
    assert await watch.wait("ord_1", "PENDING", 0.01) is None
    assert watch.waiting == 0


async def test_a_change_another_replica_committed_wakes_the_waiter_within_a_poll() -> None:
    db = Database()
    watch = StatusWatch(db.statuses, interval=0.02)
    waiters = [asyncio.create_task(watch.wait("ord_1", "PENDING", 5)) for _ in range(20)]
    await asyncio.sleep(0.1)
    assert not any(w.done() for w in waiters)  # unchanged: nobody woken
    polls = db.polls
    db.status["ord_1"] = "PAID"  # committed elsewhere: no notify here
    results = await asyncio.wait_for(asyncio.gather(*waiters), 1)
    assert results == [None] * 20  # woken to read the order again
    assert db.polls - polls <= 3  # one statement per poll, whatever the number of waiters
    assert watch.waiting == 0


async def test_a_request_cancelled_as_its_order_settles_ends_cancelled() -> None:
    watch = StatusWatch(Database().statuses, interval=10)
    waiting = asyncio.create_task(watch.wait("ord_1", "PENDING", 5))
    await asyncio.sleep(0)
    watch.notify(ORDER)
    waiting.cancel()  # the client went away in the same turn
    done, _ = await asyncio.wait([waiting], timeout=1)
    assert waiting in done and waiting.cancelled()
    assert watch.waiting == 0
