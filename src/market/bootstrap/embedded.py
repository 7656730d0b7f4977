"""The embedded mode's composition root: the four services in one process, SQLite, an in-process bus.

The same use cases, relays and consumers as the distributed mode; only the adapters differ.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

from fastapi import FastAPI

from market.bootstrap import demo, heap
from market.bootstrap.inprocess import InProcessCatalog, InProcessCoupons, InProcessMembers
from market.bootstrap.services import Services, build_services, routers, token_settings
from market.infra.bus import InProcessBus
from market.infra.loops import Jobs, every
from market.infra.migrations import migrate
from market.infra.outbox import OutboxRelay, SqlOutboxStore, report_backlog
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import Clock, SystemClock
from market.kernel.events import ORDER_EVENTS, PAYMENT_EVENTS
from market.member.adapters.schema import MIGRATIONS as MEMBER_MIGRATIONS
from market.order.adapters.schema import MIGRATIONS as ORDER_MIGRATIONS
from market.payment.adapters.sandbox import MIGRATIONS as SANDBOX_MIGRATIONS
from market.payment.adapters.sandbox import Sandbox
from market.payment.adapters.sandbox_gateway import SandboxBnplGateway, SandboxCardGateway
from market.payment.adapters.schema import MIGRATIONS as PAYMENT_MIGRATIONS
from market.product.adapters.schema import MIGRATIONS as PRODUCT_MIGRATIONS
from market.settings import Settings
from market.web.app import build_app
from market.web.auth import Auth
from market.web.lanes import FastLanes

SCHEMAS = {
    "member": MEMBER_MIGRATIONS,
    "product": PRODUCT_MIGRATIONS,
    "order": ORDER_MIGRATIONS,
    "payment": PAYMENT_MIGRATIONS,
    "pg_sandbox": SANDBOX_MIGRATIONS,
}


@dataclass
class Embedded:
    settings: Settings
    services: Services
    dbs: dict[str, SqliteDatabase]
    bus: InProcessBus
    relays: list[OutboxRelay]
    clock: Clock
    jobs: Jobs = field(default_factory=Jobs)

    async def start(self) -> None:
        for name, migrations in SCHEMAS.items():
            await migrate(self.dbs[name], migrations)
        await self.bus.start()
        for relay in self.relays:
            self.jobs.start(relay.run(), f"relay-{relay.name}")
            backlog = partial(report_backlog, relay.name, SqlOutboxStore(self.dbs[relay.name]))
            self.jobs.start(every(5, backlog, f"backlog-{relay.name}"), f"backlog-{relay.name}")
        payment, interval = self.services.payment, self.settings.reconcile_interval_seconds
        self.jobs.start(every(interval, payment.reconcile_once, "reconciler"), "reconciler")
        self.jobs.start(every(3600, self.services.order.forget_expired_keys, "idempotency-keys"), "keys")
        sweep = self.services.order.release_abandoned_placements
        self.jobs.start(every(30, sweep, "abandoned-placements"), "abandoned-placements")

    async def stop(self) -> None:
        for relay in self.relays:
            await relay.stop()
        await self.jobs.stop()
        await self.bus.stop()
        for db in self.dbs.values():
            await db.close()


def build(settings: Settings, clock: Clock | None = None) -> Embedded:
    """Every object of the platform, connected; nothing runs until `start()` (which migrates first)."""
    clock = clock or SystemClock()
    dbs = {name: SqliteDatabase(settings.data_dir / f"{name}.db") for name in SCHEMAS}
    wakes = {"order": asyncio.Event(), "payment": asyncio.Event()}
    sandbox = Sandbox(dbs["pg_sandbox"], clock)
    services = build_services(
        settings,
        clock,
        dbs,
        wakes,
        members_port=InProcessMembers,
        catalog_port=InProcessCatalog,
        coupons_port=InProcessCoupons,
        cards=SandboxCardGateway(sandbox),
        bnpl=SandboxBnplGateway(sandbox),
    )
    bus = InProcessBus()
    bus.subscribe(ORDER_EVENTS, "payment", services.payment.handle)
    bus.subscribe(ORDER_EVENTS, "product", services.product.handle)
    bus.subscribe(PAYMENT_EVENTS, "order", services.order.handle)
    relays = [
        OutboxRelay(name, SqlOutboxStore(dbs[name]), bus, wakes[name], batch=settings.relay_batch)
        for name in ("order", "payment")
    ]
    return Embedded(settings, services, dbs, bus, relays, clock)


def create_app(settings: Settings, *, serving: bool = False) -> FastAPI:
    """The embedded platform's app; `serving`: this process only serves it (market.bootstrap.heap)."""
    platform = build(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await platform.start()
        print(await demo.prepare(platform.services, settings, platform.clock), flush=True)
        if serving:
            heap.settle()
        try:
            yield
        finally:
            await platform.stop()

    async def databases_ready() -> None:
        for db in platform.dbs.values():
            await db.ping()

    lanes = FastLanes()
    return build_app(
        "market (embedded)",
        routers(platform.services, Auth(token_settings(settings)), lanes),
        {"databases": databases_ready},
        lifespan,
        lanes,
    )


async def seed_only(settings: Settings) -> str:
    platform = build(settings)
    await platform.start()
    try:
        return await demo.prepare(platform.services, settings, platform.clock)
    finally:
        await platform.stop()
