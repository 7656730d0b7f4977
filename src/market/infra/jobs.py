"""Background jobs of a service process (relays, consumers' helpers, the declared periodic jobs), started
and stopped together, and the lease that lets one replica at a time run a periodic job."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from market.kernel.clock import Clock, iso
from market.kernel.db import Database, insert_ignore

log = logging.getLogger("market.jobs")

# Appended to every service's migrations (bootstrap): the leases of its periodic jobs.
LEASES = """
CREATE TABLE job_leases (
    name VARCHAR(64) PRIMARY KEY,
    holder VARCHAR(128) NOT NULL,
    until VARCHAR(32) NOT NULL
)
"""


class Lease:
    """A job's lease in the service's database: held by one replica until it expires unrenewed.

    A replica that holds it renews it each run; another takes it once it has expired (its holder died or
    hangs), so a periodic job runs on one replica at a time and moves on when that one goes away."""

    def __init__(self, db: Database, name: str, holder: str, clock: Clock, ttl: float) -> None:
        self._db, self._name, self._holder, self._clock = db, name, holder, clock
        self._ttl = timedelta(seconds=ttl)

    async def hold(self) -> bool:
        now = self._clock.now()
        row = {"n": self._name, "h": self._holder, "u": iso(now + self._ttl), "now": iso(now)}
        async with self._db.transaction() as tx:
            if await tx.execute(
                f"{insert_ignore(tx.dialect)} INTO job_leases (name, holder, until) VALUES (:n, :h, :u)", row
            ):
                return True
            taken = await tx.execute(
                "UPDATE job_leases SET holder = :h, until = :u WHERE name = :n AND (holder = :h OR until < :now)",
                row,
            )
        return taken == 1


async def every(
    seconds: float, job: Callable[[], Awaitable[object]], name: str, lease: Lease | None = None
) -> None:
    """Run `job` forever, `seconds` apart, while this replica holds `lease` (if any); a failing run is
    logged and the next one still happens."""
    while True:
        try:
            if lease is None or await lease.hold():
                await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background job %s failed; it runs again in %.1f s", name, seconds)
        await asyncio.sleep(seconds)


class Jobs:
    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, coro: Awaitable[None], name: str) -> None:
        self._tasks.append(asyncio.ensure_future(coro))
        self._tasks[-1].set_name(name)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
