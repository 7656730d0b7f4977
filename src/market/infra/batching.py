"""The batched write path: one writer per database that commits many callers' units of work at once.

Callers hand a body (`async def body(uow) -> T`, kernel.db.Writer) to the database's `BatchWriter`. When
no batch is running, the body runs at once in a transaction of its own: a batch of one, no added latency
when idle. Bodies that arrive while a batch runs wait for it to end; then one task takes them all (up to
`limit`) and runs them in ONE transaction, each inside a SAVEPOINT: a body that raises is rolled back to
its savepoint and gets its own error, the others go on; one COMMIT, then each caller gets its own result.
Under load the batch grows by itself, as a group commit does.

The transaction failing as a whole before its COMMIT (a deadlock undoes every body, a savepoint that can
no longer be rolled back to) runs the batch again (`attempts` in all), then each body alone, so that each
caller gets its own outcome. A failed COMMIT (its outcome may be unknown) and Unavailable (the database
cannot be reached) answer every caller of the batch with that error, as their own transactions would have.
A caller cancelled before its body started leaves the batch; once started, its body runs to its end.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from market.kernel.db import Database, Tx, UoW
from market.kernel.errors import Unavailable

log = logging.getLogger("market.batching")
T = TypeVar("T")
Body = Callable[[Any], Awaitable[Any]]


class _Job:
    __slots__ = ("body", "done")

    def __init__(self, body: Body, done: asyncio.Future[Any]) -> None:
        self.body = body
        self.done = done

    def settle(self, outcome: Any) -> None:
        if self.done.done():  # its caller was cancelled
            return
        if isinstance(outcome, _Raised):
            self.done.set_exception(outcome.exc)
        else:
            self.done.set_result(outcome)


class _Raised:
    """A body's error, as the outcome its caller gets."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Failed(Exception):
    """The batch's transaction failed as a whole before its COMMIT: nothing of it was written."""


class BatchWriter(Generic[UoW]):
    """kernel.db.Writer on `db`: bodies that arrive together share a transaction, a savepoint each."""

    def __init__(self, db: Database, make: Callable[[Tx], UoW], limit: int = 64, attempts: int = 2) -> None:
        self._db = db
        self._make = make
        self._limit = limit
        self._attempts = attempts
        self._waiting: deque[_Job] = deque()
        self._busy = False  # a body or a batch is running: newcomers wait for the next batch
        self._drainer: asyncio.Task[None] | None = None
        self.batches = 0  # transactions run, and the bodies in them (docs/performance.md)
        self.bodies = 0

    async def __call__(self, body: Callable[[UoW], Awaitable[T]]) -> T:
        if self._busy:
            job = _Job(body, asyncio.get_running_loop().create_future())
            self._waiting.append(job)
            done: T = await job.done
            return done
        self._busy = True
        try:
            self.batches += 1
            self.bodies += 1
            result: T = await self._alone(body)
            return result
        finally:
            self._next()

    def _next(self) -> None:
        """Hand over to the drainer if bodies wait; else no batch runs any more."""
        if self._waiting:
            self._drainer = asyncio.get_running_loop().create_task(self._drain())
        else:
            self._busy = False

    async def _drain(self) -> None:
        jobs: list[_Job] = []
        try:
            while self._waiting:
                jobs = self._take()
                if jobs:
                    await self._run(jobs)
        except BaseException as exc:  # cancelled at shutdown: answer those who wait rather than leave them
            failure = exc if isinstance(exc, Exception) else Unavailable("database")
            for job in [*jobs, *self._waiting]:
                job.settle(_Raised(failure))
            self._waiting.clear()
            raise
        finally:
            self._busy = False
            self._drainer = None

    def _take(self) -> list[_Job]:
        """The next batch: up to `limit` waiting jobs, leaving out those whose caller is gone."""
        jobs: list[_Job] = []
        while self._waiting and len(jobs) < self._limit:
            job = self._waiting.popleft()
            if not job.done.done():
                jobs.append(job)
        return jobs

    async def _run(self, jobs: list[_Job]) -> None:
        self.batches += 1
        self.bodies += len(jobs)
        if len(jobs) > 1:
            for attempt in range(1, self._attempts + 1):
                try:
                    outcomes = await self._together(jobs)
                except _Failed as failed:
                    log.warning("a batch of %d failed (attempt %d): %r", len(jobs), attempt, failed.__cause__)
                    continue
                except Exception as exc:  # the COMMIT failed, or the database is unavailable
                    outcomes = [_Raised(exc)] * len(jobs)
                for job, outcome in zip(jobs, outcomes, strict=True):
                    job.settle(outcome)
                return
        for job in jobs:
            job.settle(await _outcome(self._alone(job.body)))

    async def _alone(self, body: Body) -> Any:
        async with self._db.transaction() as tx:
            return await body(self._make(tx))

    async def _together(self, jobs: list[_Job]) -> list[Any]:
        """Each job's outcome (a result or _Raised), all committed in one transaction."""
        async with self._db.transaction() as tx:
            uow = self._make(tx)
            outcomes = []
            for i, job in enumerate(jobs):
                outcomes.append(await self._in_savepoint(tx, f"b{i}", job.body, uow))
        return outcomes

    @staticmethod
    async def _in_savepoint(tx: Tx, name: str, body: Body, uow: Any) -> Any:
        try:
            await tx.savepoint(name)
            result = await body(uow)
            await tx.release(name)
            return result
        except Unavailable:
            raise  # the database is gone: no use running the batch again
        except Exception as exc:
            try:
                await tx.rollback_to(name)
            except Exception as lost:  # e.g. a deadlock already undid the whole transaction
                raise _Failed() from lost
            return _Raised(exc)


async def _outcome(running: Awaitable[Any]) -> Any:
    try:
        return await running
    except Exception as exc:
        return _Raised(exc)
