"""The embedded mode's composition root: every service in one process, SQLite, an in-process bus, the
PG sandbox in process. It only chooses adapters; `runner.Platform` runs the services as declared, and
`apps.embedded_app` serves them (`market serve`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from market import platform
from market.bootstrap.inprocess import InProcessCatalog, InProcessCoupons, InProcessMembers, Later
from market.bootstrap.runner import Platform
from market.infra.bus import InProcessBus
from market.infra.cache import MemoryCache
from market.infra.consuming import Delivery
from market.infra.dead_letters import SqlDeadLetters
from market.infra.jobs import every
from market.infra.migrations import migrate
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import Clock, SystemClock
from market.notification.adapters.members import InProcessRecipients
from market.payment.adapters.toss import HttpTransport, TossBnplGateway, TossCardGateway, Transport
from market.pg_sandbox.core import MIGRATIONS as SANDBOX_MIGRATIONS
from market.pg_sandbox.core import Sandbox
from market.pg_sandbox.transport import InProcessTransport
from market.settings import Settings

# A committed order or payment must survive a power cut (a payment row lost after the PG charged is a
# charge nobody knows of): their databases sync the WAL at every COMMIT. The others keep NORMAL: a power
# cut may lose their last commits, never corrupt them (docs/architecture.md).
DURABLE = frozenset({"order", "payment"})


@dataclass
class EmbeddedAdapters:
    settings: Settings
    clock: Clock
    dbs: dict[str, SqliteDatabase] = field(default_factory=dict)
    wakes: dict[str, asyncio.Event] = field(default_factory=dict)
    platform: Platform | None = None
    transports: list[HttpTransport] = field(default_factory=list)

    def __post_init__(self) -> None:
        names = [s.name for s in platform.SERVICES] + ["pg_sandbox"]
        self.dbs = {
            name: SqliteDatabase(
                self.settings.data_dir / f"{name}.db", synchronous="FULL" if name in DURABLE else "NORMAL"
            )
            for name in names
        }
        self.sandbox = InProcessTransport(Sandbox(self.dbs["pg_sandbox"], self.clock))

    def database(self, service: str) -> SqliteDatabase:
        return self.dbs[service]

    def wake(self, service: str) -> asyncio.Event:
        return self.wakes.setdefault(service, asyncio.Event())

    def members(self) -> InProcessMembers:
        return InProcessMembers(Later(self, "member"))

    points = members

    def catalog(self) -> InProcessCatalog:
        return InProcessCatalog(Later(self, "product"))

    def coupons(self) -> InProcessCoupons:
        return InProcessCoupons(Later(self, "payment"))

    def cards(self) -> TossCardGateway:
        return TossCardGateway(self._pg(self.settings.pg_base_url))

    def bnpl(self) -> TossBnplGateway:
        return TossBnplGateway(self._pg(self.settings.bnpl_base_url or self.settings.pg_base_url))

    def _pg(self, base_url: str) -> Transport:
        """The sandbox in this process, or (`pg_in_process` false) the PG at `base_url` over HTTP."""
        if self.settings.pg_in_process:
            return self.sandbox
        s = self.settings
        transport = HttpTransport(base_url, s.pg_secret_key, timeout=s.pg_timeout_seconds)
        self.transports.append(transport)
        return transport

    def recipients(self) -> InProcessRecipients:
        return InProcessRecipients(Later(self, "member"))

    def cache(self, name: str) -> MemoryCache:
        # One process: its memory is the cache every reader shares, and every event reaches it.
        return MemoryCache(name, self.clock, self.settings.catalog_cache_size)


@dataclass
class Embedded:
    """The whole platform in this process; nothing runs until `start()` (which migrates first)."""

    adapters: EmbeddedAdapters
    bus: InProcessBus
    platform: Platform

    async def start(self) -> None:
        await migrate(self.adapters.dbs["pg_sandbox"], SANDBOX_MIGRATIONS)
        await self.platform.start()
        self.platform.jobs.start(every(1, self.bus.report_lag, "consumer-lag"), "consumer-lag")

    async def stop(self) -> None:
        await self.platform.stop()
        await self.bus.stop()
        for transport in self.adapters.transports:
            await transport.close()
        for db in self.adapters.dbs.values():
            await db.close()


def build(settings: Settings, clock: Clock | None = None) -> Embedded:
    adapters = EmbeddedAdapters(settings, clock or SystemClock())
    dead_letters = SqlDeadLetters(adapters.database, adapters.clock)
    bus = InProcessBus(delivery=Delivery(dead_letters, settings.consumer_max_attempts))
    adapters.platform = Platform([s.name for s in platform.SERVICES], adapters, bus, bus)
    return Embedded(adapters, bus, adapters.platform)
