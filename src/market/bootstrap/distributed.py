"""The distributed mode's composition root: one service per OS process, MariaDB, Kafka, gRPC, HTTP PG.

`market service NAME` runs one of: member, product, order, payment, pg-sandbox. Each process serves its
REST API (behind the nginx gateway), its gRPC server if others call it, its Kafka relay and consumers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI

from market.bootstrap import heap
from market.bootstrap.services import cached_catalog, token_settings
from market.infra.grpc import CallPolicy, open_channel, start_server
from market.infra.kafka import KafkaPublisher, KafkaSubscriber, ensure_topics
from market.infra.loops import Jobs, every
from market.infra.migrations import migrate
from market.infra.mysql import MysqlDatabase, create_database_url
from market.infra.outbox import OutboxRelay, SqlOutboxStore, report_backlog
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import SystemClock
from market.kernel.events import ORDER_EVENTS, PAYMENT_EVENTS
from market.settings import Settings
from market.web.app import API_PREFIX, build_app
from market.web.auth import Auth
from market.web.lanes import FastLanes


class Process:
    """What one service process holds: its database, its jobs, and what to close at the end."""

    def __init__(self, settings: Settings, name: str, lanes: FastLanes | None = None) -> None:
        self.settings, self.name = settings, name
        self.lanes = lanes if lanes is not None else FastLanes()  # served by the app (market.web.lanes)
        self.clock = SystemClock()
        self.stack = AsyncExitStack()
        self.jobs = Jobs()
        self.ready: dict[str, Callable[[], Awaitable[None]]] = {}
        self.db = MysqlDatabase(
            create_database_url(
                f"market_{name}",
                settings.mysql_host,
                settings.mysql_port,
                settings.mysql_user,
                settings.mysql_password,
                socket=settings.mysql_socket,
            ),
            pool_size=settings.mysql_pool_size,
        )
        self.ready["database"] = self.db.ping
        self.wake = asyncio.Event()

    async def migrate(self, migrations: list[str]) -> None:
        await migrate(self.db, migrations)

    def channel(self, port: int) -> Any:
        channel = open_channel(f"127.0.0.1:{port}")
        self.stack.push_async_callback(channel.close)
        return channel

    @property
    def policy(self) -> CallPolicy:
        return CallPolicy(deadline=self.settings.grpc_deadline_seconds)

    async def grpc(self, port: int, *servicers: Any) -> None:
        running = await start_server(list(servicers), host="127.0.0.1", port=port)
        self.stack.push_async_callback(running.stop)

    async def publish_outbox(self) -> None:
        publisher = KafkaPublisher(self.settings.kafka_bootstrap, client_id=f"market-{self.name}")
        await publisher.start()
        self.stack.push_async_callback(publisher.stop)
        self.ready["kafka"] = publisher.ping
        relay = OutboxRelay(
            self.name, SqlOutboxStore(self.db), publisher, self.wake, batch=self.settings.relay_batch
        )
        self.jobs.start(relay.run(), "relay")
        backlog = partial(report_backlog, self.name, SqlOutboxStore(self.db))
        self.jobs.start(every(5, backlog, "outbox-backlog"), "outbox-backlog")
        self.stack.push_async_callback(relay.stop)

    async def consume(self, topic: str, handler: Callable[[Any], Awaitable[None]]) -> None:
        await ensure_topics(self.settings.kafka_bootstrap, [ORDER_EVENTS, PAYMENT_EVENTS], partitions=4)
        subscriber = KafkaSubscriber(self.settings.kafka_bootstrap, client_id=f"market-{self.name}")
        subscriber.subscribe(topic, self.name, handler)
        await subscriber.start()
        self.stack.push_async_callback(subscriber.stop)

    async def close(self) -> None:
        await self.jobs.stop()
        await self.stack.aclose()
        await self.db.close()


async def _member(p: Process) -> list[APIRouter]:
    from market.member.adapters import rest
    from market.member.adapters.argon2 import Argon2Hasher
    from market.member.adapters.grpc_server import MemberGrpcService
    from market.member.adapters.jwt import JwtTokenIssuer
    from market.member.adapters.schema import MIGRATIONS
    from market.member.adapters.sql import sql_uow
    from market.member.use_cases import MemberService

    await p.migrate(MIGRATIONS)
    member = MemberService(
        uow=sql_uow(p.db, p.clock),
        clock=p.clock,
        hasher=Argon2Hasher(),
        tokens=JwtTokenIssuer(token_settings(p.settings), p.clock),
    )
    await p.grpc(p.settings.member_grpc_port, MemberGrpcService(member))
    if p.settings.admin_email and p.settings.admin_password:
        await member.ensure_admin(p.settings.admin_email, p.settings.admin_password)
    return [rest.router(member, Auth(token_settings(p.settings)))]


async def _product(p: Process) -> list[APIRouter]:
    from market.product.adapters import rest
    from market.product.adapters.grpc_server import ProductGrpcService
    from market.product.adapters.schema import MIGRATIONS
    from market.product.adapters.sql import sql_uow
    from market.product.use_cases import ProductService

    await p.migrate(MIGRATIONS)
    product = ProductService(uow=sql_uow(p.db, p.clock), clock=p.clock)
    await p.grpc(p.settings.product_grpc_port, ProductGrpcService(product))
    await p.consume(ORDER_EVENTS, product.handle)
    return [rest.router(product, Auth(token_settings(p.settings)))]


async def _order(p: Process) -> list[APIRouter]:
    from market.order.adapters import rest, rest_lanes
    from market.order.adapters.grpc_client import GrpcCatalog, GrpcCoupons, GrpcMembers
    from market.order.adapters.schema import MIGRATIONS
    from market.order.adapters.sql import sql_uow
    from market.order.adapters.watch import AsyncioStatusWatch
    from market.order.use_cases import OrderService

    await p.migrate(MIGRATIONS)
    s = p.settings
    order = OrderService(
        uow=sql_uow(p.db, p.clock, p.wake),
        clock=p.clock,
        members=GrpcMembers(p.channel(s.member_grpc_port), p.policy),
        catalog=cached_catalog(GrpcCatalog(p.channel(s.product_grpc_port), p.policy), p.clock, s),
        coupons=GrpcCoupons(p.channel(s.payment_grpc_port), p.policy),
        watch=AsyncioStatusWatch(),
    )
    await p.publish_outbox()
    await p.consume(PAYMENT_EVENTS, order.handle)
    p.jobs.start(every(3600, order.forget_expired_keys, "idempotency-keys"), "keys")
    p.jobs.start(
        every(30, order.release_abandoned_placements, "abandoned-placements"), "abandoned-placements"
    )
    auth = Auth(token_settings(s))
    rest_lanes.register(order, auth, p.lanes)
    return [rest.router(order, auth)]


async def _payment(p: Process) -> list[APIRouter]:
    from market.payment.adapters import rest
    from market.payment.adapters.grpc_client import GrpcPointsAccount
    from market.payment.adapters.grpc_server import PaymentGrpcService
    from market.payment.adapters.metrics import PrometheusPaymentMetrics
    from market.payment.adapters.schema import MIGRATIONS
    from market.payment.adapters.sql import sql_uow
    from market.payment.adapters.stepping_aside import SteppingAsideBnpl, SteppingAsideCards
    from market.payment.adapters.toss import HttpBnplGateway, TossCardGateway
    from market.payment.use_cases import PaymentService

    await p.migrate(MIGRATIONS)
    s = p.settings
    cards = TossCardGateway(s.pg_base_url, s.pg_secret_key, timeout=s.pg_timeout_seconds)
    bnpl = HttpBnplGateway(s.bnpl_base_url or s.pg_base_url, s.pg_secret_key, timeout=s.pg_timeout_seconds)
    p.stack.push_async_callback(cards.close)
    p.stack.push_async_callback(bnpl.close)
    payment = PaymentService(
        uow=sql_uow(p.db, p.clock, p.wake),
        clock=p.clock,
        points=GrpcPointsAccount(p.channel(s.member_grpc_port), p.policy),
        cards=SteppingAsideCards(cards),
        bnpl=SteppingAsideBnpl(bnpl),
        metrics=PrometheusPaymentMetrics(),
        lease_seconds=s.payment_lease_seconds,
    )
    await p.grpc(s.payment_grpc_port, PaymentGrpcService(payment))
    await p.publish_outbox()
    await p.consume(ORDER_EVENTS, payment.handle)
    p.jobs.start(every(s.reconcile_interval_seconds, payment.reconcile_once, "reconciler"), "reconciler")
    return [rest.router(payment, Auth(token_settings(s)))]


BUILDERS = {"member": _member, "product": _product, "order": _order, "payment": _payment}
PORTS = {
    "member": "member_http_port",
    "product": "product_http_port",
    "order": "order_http_port",
    "payment": "payment_http_port",
}


def service_app(settings: Settings, name: str, *, serving: bool = False) -> FastAPI:
    """The REST app of one service process; its adapters are built in the app's lifespan.

    `serving`: the process does nothing else, so its heap is settled once built (market.bootstrap.heap).
    """
    holder: dict[str, Any] = {}
    app_routers: list[APIRouter] = []
    lanes = FastLanes()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        p = holder["p"] = Process(settings, name, lanes)
        try:
            for router in await BUILDERS[name](p):
                app.include_router(router, prefix=API_PREFIX)
            if serving:
                heap.settle()
            yield
        finally:
            await p.close()

    async def ready() -> None:
        for check in holder["p"].ready.values():
            await check()

    return build_app(f"market {name}", app_routers, {"dependencies": ready}, lifespan, lanes)


def run_service(settings: Settings, name: str) -> None:
    if name == "pg-sandbox":
        from market.payment.adapters.sandbox_http import create_sandbox_app

        db = SqliteDatabase(settings.state_dir / "pg_sandbox.db")
        app = create_sandbox_app(db, settings.pg_secret_key)
        port = settings.pg_port
        heap.settle()  # the sandbox holds no more at start-up than it has now: its app, its routes
    else:
        app, port = service_app(settings, name, serving=True), getattr(settings, PORTS[name])
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level=settings.log_level,
        loop="uvloop",
        http="httptools",
        access_log=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=5,
    )
