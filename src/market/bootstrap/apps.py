"""The apps the two run modes serve, each over its composition root's adapters: the whole platform in one
process (`market serve`), or one replica of one service (`market service NAME`). The roots choose adapters
(bootstrap/embedded.py, bootstrap/distributed.py); this module hosts what they build: the app's lifespan,
its routers, its readiness checks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prometheus_client import generate_latest

from market import platform
from market.bootstrap import demo, health, heap, topology
from market.bootstrap.distributed import TOPIC_PARTITIONS, DistributedAdapters, tls
from market.bootstrap.embedded import Embedded, build
from market.bootstrap.runner import Platform
from market.bootstrap.wiring import operations, token_settings
from market.infra import tracing
from market.infra.grpc import start_server
from market.infra.jobs import every
from market.infra.kafka import KafkaTransport
from market.infra.startup import when_reachable
from market.kernel.clock import SystemClock
from market.settings import Settings
from market.web import browser
from market.web.app import API_PREFIX, build_app
from market.web.auth import Auth

log = logging.getLogger("market")


def embedded_app(settings: Settings, *, serving: bool = False) -> FastAPI:
    """The embedded platform's app; `serving`: this process only serves it (market.bootstrap.heap)."""
    tracing.setup("embedded", settings.replica)
    embedded = build(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await embedded.start()
        try:
            print(
                await demo.prepare(embedded.platform.services, settings, embedded.adapters.clock), flush=True
            )
        except demo.UnsafeExposure as refused:
            log.critical("market serve refuses to start: %s", refused)
            await embedded.stop()
            raise
        if serving:
            heap.settle()
        try:
            yield
        finally:
            await embedded.stop()

    async def databases_ready() -> None:
        for db in embedded.adapters.dbs.values():
            await db.ping()

    async def status(_authorization: str = "") -> dict[str, Any]:
        return await _embedded_status(embedded)

    routers = [*embedded.platform.routers, health.router(status, Auth(token_settings(settings)))]
    app = build_app(
        "market (embedded)", routers, {"databases": databases_ready}, lifespan, operations(settings)
    )
    browser.install(app)
    return app


async def _embedded_status(embedded: Embedded) -> dict[str, Any]:
    """`GET /api/v1/admin/platform`: this one process answers for every service (market.bootstrap.health)."""
    samples = health.samples_of(generate_latest().decode())

    async def ready(name: str) -> bool:
        try:
            await embedded.adapters.dbs[name].ping()
        except Exception:
            return False
        return True

    replica = embedded.platform.replica
    probed = [health.Probed(s.name, replica, await ready(s.name), samples) for s in platform.SERVICES]
    return health.platform_view(probed)


def service_app(settings: Settings, name: str, replica: int = 0, *, serving: bool = False) -> FastAPI:
    """The app of one replica of a service; its adapters are built and started in the app's lifespan."""
    declared = platform.service(name)
    tracing.setup(name, settings.replica or f"{name}-{replica}")
    checks: dict[str, Callable[[], Awaitable[None]]] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            adapters = DistributedAdapters(settings, SystemClock(), stack, name)
            kafka = KafkaTransport(settings, name)
            await when_reachable(lambda: kafka.prepare(platform.TOPICS, TOPIC_PARTITIONS, stack), "Kafka")
            running = Platform(
                [name], adapters, kafka.publisher, kafka.subscriber, settings.replica or f"{name}-{replica}"
            )
            checks.update(database=adapters.database(name).ping, kafka=kafka.publisher.ping)
            await running.start()
            stack.push_async_callback(running.stop)
            await kafka.consume(stack)
            if declared.consumes:
                running.jobs.start(every(5, kafka.subscriber.report_lag, "consumer-lag"), "consumer-lag")
            if declared.grpc_port is not None:
                port = declared.grpc_port + platform.PORT_STRIDE * replica
                server = await start_server(
                    running.grpc, host=settings.host, port=port, tls=tls(settings, name)
                )
                stack.push_async_callback(server.stop)
            for router in running.routers:
                app.include_router(router, prefix=API_PREFIX)
            if serving:
                heap.settle()
            yield

    async def ready() -> None:
        for check in checks.values():
            await check()

    if name != platform.CONSOLE:
        return build_app(f"market {name}", [], {"dependencies": ready}, lifespan, operations(settings))

    async def status(authorization: str) -> dict[str, Any]:
        return health.platform_view(await health.probe_replicas(console_targets(settings), authorization))

    routers = [health.router(status, Auth(token_settings(settings)))]
    app = build_app(f"market {name}", routers, {"dependencies": ready}, lifespan, operations(settings))
    browser.install(app, whole_platform_document=True)
    return app


def console_targets(settings: Settings) -> list[tuple[str, str, str]]:
    """Every replica `market up` runs on this host, as (service, replica, base URL), for the console."""
    return [
        (r.service, r.name, f"http://127.0.0.1:{r.port(settings)}")
        for r in topology.replicas(settings)
        if r.service != topology.SANDBOX
    ]
