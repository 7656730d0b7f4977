"""Runs services as `platform.SERVICES` declares them, whatever the run mode: one runner for all of them.

For each service it runs: its schema migrations (infra.migrations, under a lock), its builder (`wiring`), its outbox relay if it produces
events, its consumer group on each topic it consumes, and its periodic jobs (each under a lease in the
service's database, so one replica at a time runs it). The embedded mode runs every service in one
process over the in-process bus; the distributed mode one service per process over Kafka.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter

from market import platform
from market.bootstrap.wiring import BUILDERS, MIGRATIONS, Adapters, Built
from market.infra.jobs import Jobs, Lease, every
from market.infra.migrations import migrate
from market.infra.outbox import OutboxRelay, SqlOutboxStore, report_backlog
from market.infra.startup import when_reachable
from market.kernel.messaging import Publisher, Subscriber

log = logging.getLogger("market")


class Platform:
    """The services one process runs: built at once, started (migrations first) and stopped together."""

    def __init__(
        self,
        names: Sequence[str],
        adapters: Adapters,
        publisher: Publisher,
        subscriber: Subscriber,
        replica: str = "",
    ) -> None:
        self.adapters = adapters
        self.declared = [s for s in platform.SERVICES if s.name in names]
        self.built: dict[str, Built] = {}
        for declared in self.declared:
            self.built[declared.name] = BUILDERS[declared.name](adapters)
        self._publisher, self._subscriber = publisher, subscriber
        self.replica = replica or f"{socket.gethostname()}:{os.getpid()}"
        self.jobs = Jobs()

    @property
    def routers(self) -> list[APIRouter]:
        return [router for built in self.built.values() for router in built.routers]

    @property
    def grpc(self) -> list[Any]:
        return [servicer for built in self.built.values() for servicer in built.grpc]

    def service(self, name: str) -> Any:
        return self.built[name].service

    @property
    def services(self) -> SimpleNamespace:
        """The use cases of each service by name (`services.order`), for demo data, tools and tests."""
        return SimpleNamespace(**{name: built.service for name, built in self.built.items()})

    async def start(self) -> None:
        a = self.adapters
        for declared in self.declared:
            # Under the database's migration lock: replicas starting together migrate one at a time.
            upgrade = partial(migrate, a.database(declared.name), MIGRATIONS[declared.name])
            migrated = await when_reachable(upgrade, f"{declared.name}'s database")
            if migrated.applied or migrated.adopted:
                log.info("migrations: %s", migrated.summary())
        for built in self.built.values():
            if built.start is not None:
                await built.start()
        for declared in self.declared:
            name, db, service = declared.name, a.database(declared.name), self.built[declared.name].service
            if declared.produces:
                store = SqlOutboxStore(db)
                relay = OutboxRelay(name, store, self._publisher, a.wake(name), batch=a.settings.relay_batch)
                self.jobs.start(relay.run(), f"relay-{name}")
                self.jobs.start(every(5, partial(report_backlog, name, store), f"backlog-{name}"), "backlog")
            for topic in declared.consumes:
                consumer = self.built[name].consumers.get(topic, service)
                self._subscriber.subscribe(topic, name, consumer)
            for job in declared.jobs:
                seconds = job.every if isinstance(job.every, float) else float(getattr(a.settings, job.every))
                lease = Lease(db, job.name, self.replica, a.clock, ttl=max(3 * seconds, 10.0))
                run: Callable[[], Awaitable[object]] = getattr(service, job.run)
                self.jobs.start(every(seconds, run, job.name, lease), job.name)

    async def stop(self) -> None:
        await self.jobs.stop()
        for built in self.built.values():
            stop = getattr(built.service, "stop", None)
            if stop is not None:
                await stop()
