"""Keyed lanes: jobs run one at a time, in order, within a key, and up to `limit` at once across keys.

Both event transports give each partition its lanes, keyed by order id, with one slot: a partition
handles one event at a time, as before, except that a handler waiting on another system (the PG) steps
aside (`stepping_aside`), and the next event of another order in the partition runs meanwhile. So a
payment waiting on a slow PG holds up its own order's later events only; while it waits it holds no slot,
so the CPU and database work under way stays bounded by the slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass

log = logging.getLogger("market.lanes")
Job = Callable[[], Awaitable[None]]


@dataclass
class _Slot:
    slots: asyncio.Semaphore
    held: bool = False


_current: ContextVar[_Slot | None] = ContextVar("market_lane_slot", default=None)


@contextlib.asynccontextmanager
async def stepping_aside() -> AsyncIterator[None]:
    """Around a wait on another system: the job's slot goes to the next job meanwhile, and is taken back
    after. Outside a lane (an HTTP request, the reconciler) it does nothing."""
    slot = _current.get()
    if slot is None or not slot.held:
        yield
        return
    slot.held = False
    slot.slots.release()
    try:
        yield
    except asyncio.CancelledError:
        raise  # the lane is being cancelled: it has no slot to give back
    except BaseException:
        await slot.slots.acquire()  # the job goes on (e.g. asks the PG after a timeout): its slot back
        slot.held = True
        raise
    await slot.slots.acquire()
    slot.held = True


class KeyedLanes:
    def __init__(self, limit: int = 1) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._slots = asyncio.Semaphore(limit)
        self._lanes: dict[Hashable, deque[Job]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, key: Hashable, job: Job) -> None:
        """Run `job` after every job submitted before it under the same key."""
        lane = self._lanes.get(key)
        if lane is not None:
            lane.append(job)
            return
        lane = self._lanes[key] = deque([job])
        task = asyncio.create_task(self._run(key, lane))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def tasks(self) -> list[asyncio.Task[None]]:
        """The lanes running now (one task per key with jobs left)."""
        return list(self._tasks)

    async def _run(self, key: Hashable, lane: deque[Job]) -> None:
        try:
            while lane:
                slot = _Slot(self._slots)
                await self._slots.acquire()
                slot.held = True
                token = _current.set(slot)
                try:
                    await lane[0]()
                except Exception:
                    # A job handles its own failures (the transports retry); one that escapes is a bug,
                    # and must not strand the jobs queued behind it.
                    log.exception("lane %r: job failed; going on with the next", key)
                finally:
                    _current.reset(token)
                    if slot.held:
                        self._slots.release()
                lane.popleft()
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    async def cancel(self) -> None:
        """Cancel every lane; queued jobs are dropped."""
        tasks = self.tasks()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._lanes.clear()
