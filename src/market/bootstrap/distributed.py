"""The distributed mode's composition root: one service per OS process (per replica), MariaDB, Kafka, gRPC,
the PG over HTTP. It only chooses adapters; `runner.Platform` runs the service as declared.

`market service NAME [--replica I]` runs replica I of a service: its REST API (behind the gateway) and its
gRPC server on the declared ports + `platform.PORT_STRIDE` × I, its relay, consumers and jobs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from market import platform
from market.bootstrap import health, heap, topology
from market.bootstrap.runner import Platform
from market.bootstrap.topology import grpc_target
from market.bootstrap.wiring import operations, token_settings
from market.infra import tracing
from market.infra.cache import Cache, MemoryCache, RedisCache, redis_client
from market.infra.grpc import CallPolicy, Tls, open_channel, start_server
from market.infra.jobs import every
from market.infra.kafka import KafkaTransport
from market.infra.mysql import MysqlDatabase, service_database
from market.infra.startup import when_reachable
from market.kernel.clock import Clock, SystemClock
from market.notification.adapters.grpc_client import GrpcRecipients
from market.order.adapters.grpc_client import GrpcCatalog, GrpcCoupons, GrpcMembers
from market.payment.adapters.grpc_client import GrpcPointsAccount
from market.payment.adapters.toss import HttpTransport, TossBnplGateway, TossCardGateway
from market.settings import Settings
from market.web import browser
from market.web.app import API_PREFIX, build_app
from market.web.auth import Auth

TOPIC_PARTITIONS = 12  # enough for 12 replicas of a consumer; keyed by order id


@dataclass
class DistributedAdapters:
    settings: Settings
    clock: Clock
    stack: AsyncExitStack
    service: str = ""  # the one this process runs: its certificate is the one its gRPC calls show
    dbs: dict[str, MysqlDatabase] = field(default_factory=dict)
    wakes: dict[str, asyncio.Event] = field(default_factory=dict)

    def database(self, service: str) -> MysqlDatabase:
        if service not in self.dbs:
            self.dbs[service] = service_database(self.settings, service)
            self.stack.push_async_callback(self.dbs[service].close)
        return self.dbs[service]

    def wake(self, service: str) -> asyncio.Event:
        return self.wakes.setdefault(service, asyncio.Event())

    def _channel(self, service: str) -> object:
        target, own = grpc_target(self.settings, service), tls(self.settings, self.service)
        channel = open_channel(target, own, server=service)
        self.stack.push_async_callback(channel.close)
        return channel

    @property
    def _policy(self) -> CallPolicy:
        return CallPolicy(deadline=self.settings.grpc_deadline_seconds)

    def members(self) -> GrpcMembers:
        return GrpcMembers(self._channel("member"), self._policy)

    def points(self) -> GrpcPointsAccount:
        return GrpcPointsAccount(self._channel("member"), self._policy)

    def catalog(self) -> GrpcCatalog:
        return GrpcCatalog(self._channel("product"), self._policy)

    def coupons(self) -> GrpcCoupons:
        return GrpcCoupons(self._channel("payment"), self._policy)

    def recipients(self) -> GrpcRecipients:
        return GrpcRecipients(self._channel("member"), self._policy)

    def cache(self, name: str) -> Cache:
        s = self.settings
        if not s.redis_url:  # each replica its own: a change reaches one replica's (docs/scaling.md)
            return MemoryCache(name, self.clock, s.catalog_cache_size)
        client = redis_client(s.redis_url, s.redis_timeout_seconds)
        self.stack.push_async_callback(client.aclose)
        return RedisCache(name, client)

    def _transport(self, base_url: str) -> HttpTransport:
        s = self.settings
        transport = HttpTransport(base_url, s.pg_secret_key, timeout=s.pg_timeout_seconds)
        self.stack.push_async_callback(transport.close)
        return transport

    def cards(self) -> TossCardGateway:
        return TossCardGateway(self._transport(self.settings.pg_base_url))

    def bnpl(self) -> TossBnplGateway:
        return TossBnplGateway(self._transport(self.settings.bnpl_base_url or self.settings.pg_base_url))


def tls(settings: Settings, service: str) -> Tls | None:
    """The service's mutual TLS material when MARKET_GRPC_TLS is on (infra.grpc.Tls)."""
    return Tls.of_service(settings.certs_dir(), service) if settings.grpc_tls else None


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
