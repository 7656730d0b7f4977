"""Keyed lanes: jobs run one at a time, in order, within a key, and up to `limit` at once across keys.

Both event transports give each partition its lanes, keyed by order id, with one slot: a partition
handles one event at a time, as before, except that a handler waiting on another system (the PG) steps
aside (`stepping_aside`), and the next event of another order in the partition runs meanwhile. So a
payment waiting on a slow PG holds up its own order's later events only; while it waits it holds no slot,
so the CPU and database work under way stays bounded by the slots.

A slot is worked by one long-lived task, which takes the keys whose next job is ready in turn and runs
the jobs in itself. A job that steps aside keeps the task it runs in, and a new task takes over the slot's
work; the old one ends when its job does. So a task is created per wait on another system, not per job.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from types import TracebackType

log = logging.getLogger("market.lanes")
Job = Callable[[], Awaitable[None]]


class _Slot:
    """What a worker task knows of itself: whether it holds a slot now, and whether it still works the
    lanes (it stops when its job steps aside, and ends with that job)."""

    __slots__ = ("held", "lanes", "working")

    def __init__(self, lanes: KeyedLanes) -> None:
        self.lanes = lanes
        self.held = False
        self.working = True


_current: ContextVar[_Slot | None] = ContextVar("market_lane_slot", default=None)


def stepping_aside() -> _SteppingAside:
    """Around a wait on another system: the job's slot goes to the next job meanwhile, and is taken back
    after. Outside a lane (an HTTP request, the reconciler) it does nothing."""
    return _SteppingAside()


class _SteppingAside:
    """A plain class rather than an `asynccontextmanager`, whose generator cost a few microseconds more
    around every call to the PG and the member service."""

    __slots__ = ("_slot",)

    async def __aenter__(self) -> None:
        slot = _current.get()
        if slot is None or not slot.held:
            self._slot = None
            return
        self._slot = slot
        slot.lanes._step_aside(slot)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        slot = self._slot
        if slot is None or (kind is not None and issubclass(kind, asyncio.CancelledError)):
            return  # outside a lane; or the lane is being cancelled: it has no slot to give back
        # The job goes on, after an error too (e.g. it asks the PG after a timeout).
        await slot.lanes._come_back(slot)


class KeyedLanes:
    def __init__(self, limit: int = 1) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._limit = limit
        self._reset()

    def _reset(self) -> None:
        self._slots = asyncio.Semaphore(self._limit)
        self._lanes: dict[Hashable, deque[Job]] = {}
        self._ready: deque[Hashable] = deque()  # keys whose next job nobody has taken yet
        self._workers = 0  # tasks working the lanes (at most `limit`)
        self._idle: deque[asyncio.Future[None]] = deque()  # workers waiting for a ready key
        self._emptied: list[asyncio.Future[None]] = []  # callers of `wait_idle`
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, key: Hashable, job: Job) -> None:
        """Run `job` after every job submitted before it under the same key."""
        lane = self._lanes.get(key)
        if lane is not None:
            lane.append(job)
            return
        self._lanes[key] = deque((job,))
        self._ready.append(key)
        self._wake()

    def busy(self) -> bool:
        """Whether any job is queued or running."""
        return bool(self._lanes)

    async def wait_idle(self) -> None:
        """Until no job is queued or running."""
        if self._lanes:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._emptied.append(waiter)
            await waiter

    async def cancel(self) -> None:
        """Cancel every job and worker; queued jobs are dropped. The lanes can be used again after."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        emptied = self._emptied
        self._reset()
        _release(emptied)

    def _wake(self) -> None:
        while self._idle:
            worker = self._idle.popleft()
            if not worker.done():
                worker.set_result(None)
                return
        if self._workers < self._limit:
            self._workers += 1
            task = asyncio.create_task(self._work())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _step_aside(self, slot: _Slot) -> None:
        """The job in `slot` waits on another system: its slot goes free, and, if it was working the
        lanes, another task takes up that work (now, if there is work to take; else on the next submit)."""
        slot.held = False
        self._slots.release()
        if slot.working:
            slot.working = False
            self._workers -= 1
            if self._ready:
                self._wake()

    async def _come_back(self, slot: _Slot) -> None:
        await self._slots.acquire()
        slot.held = True

    async def _work(self) -> None:
        slot = _Slot(self)
        _current.set(slot)
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        ready, lanes, slots = self._ready, self._lanes, self._slots
        while slot.working:
            if not ready:
                waiter: asyncio.Future[None] = loop.create_future()
                self._idle.append(waiter)
                await waiter
                continue
            key = ready.popleft()
            lane = lanes[key]
            await slots.acquire()
            slot.held = True
            try:
                await lane[0]()
            except asyncio.CancelledError:
                if task is not None and task.cancelling():
                    raise  # the lanes are being cancelled
                log.exception("lane %r: job cancelled itself; going on with the next", key)
            except Exception:
                # A job handles its own failures (the transports retry); one that escapes is a bug,
                # and must not strand the jobs queued behind it.
                log.exception("lane %r: job failed; going on with the next", key)
            finally:
                if slot.held:
                    slot.held = False
                    slots.release()
            lane.popleft()
            if lane:
                ready.append(key)
                if not slot.working:
                    self._wake()
            else:
                del lanes[key]
                if not lanes and self._emptied:
                    emptied, self._emptied = self._emptied, []
                    _release(emptied)


def _release(waiters: list[asyncio.Future[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
