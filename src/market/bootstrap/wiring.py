"""Each service wired from the adapters a composition root chooses: the one place a service is assembled.

A builder takes the `Adapters` of the run mode (its database, the ports other services serve, the PG) and
returns what the runner needs of the service (`Built`): its use cases (the consumer of its topics, the
owner of its jobs), its REST routers and its gRPC servicers. `platform.SERVICES` says which of these the
runner uses; the composition roots (`embedded`, `distributed`) only choose the adapters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from fastapi import APIRouter

from market.infra import tracing
from market.infra.cache import Cache
from market.infra.migrations import History
from market.kernel.clock import Clock
from market.kernel.db import Database
from market.kernel.events import PRODUCT_EVENTS
from market.kernel.messaging import Consumer
from market.member.adapters import rest as member_rest
from market.member.adapters import sql as member_sql
from market.member.adapters.argon2 import Argon2Hasher
from market.member.adapters.grpc_server import MemberGrpcService
from market.member.adapters.jwt import JwtTokenIssuer
from market.member.adapters.migrations import HISTORY as MEMBER_MIGRATIONS
from market.member.domain import LoginLimits
from market.member.use_cases import MemberService
from market.notification import ports as notification_ports
from market.notification.adapters.wiring import MIGRATIONS as NOTIFICATION_MIGRATIONS
from market.notification.adapters.wiring import build_notifications, mailer_for
from market.order import ports as order_ports
from market.order.adapters import rest as order_rest
from market.order.adapters import sql as order_sql
from market.order.adapters.catalog_cache import CachedCatalog, CatalogInvalidation
from market.order.adapters.migrations import HISTORY as ORDER_MIGRATIONS
from market.order.adapters.watch import StatusWatch
from market.order.use_cases import OrderService
from market.payment import ports as payment_ports
from market.payment.adapters import rest as payment_rest
from market.payment.adapters import sql as payment_sql
from market.payment.adapters.grpc_server import PaymentGrpcService
from market.payment.adapters.metrics import PrometheusPaymentMetrics
from market.payment.adapters.migrations import HISTORY as PAYMENT_MIGRATIONS
from market.payment.use_cases import PaymentService
from market.product.adapters import rest as product_rest
from market.product.adapters import sql as product_sql
from market.product.adapters.grpc_server import ProductGrpcService
from market.product.adapters.migrations import HISTORY as PRODUCT_MIGRATIONS
from market.product.use_cases import ProductService
from market.reporting.adapters import rest as reporting_rest
from market.reporting.adapters import sql as reporting_sql
from market.reporting.adapters.migrations import HISTORY as REPORTING_MIGRATIONS
from market.reporting.use_cases import ReportingService
from market.settings import Settings
from market.web.app import Operations
from market.web.auth import Auth, TokenSettings


class Adapters(Protocol):
    """What a composition root provides: per service its database and its relay's wake-up, and the ports
    one service serves another (in process, or over gRPC), and the PG."""

    settings: Settings
    clock: Clock

    def database(self, service: str) -> Database: ...

    def wake(self, service: str) -> asyncio.Event:
        """Set by the service's outbox writes: its relay publishes at once instead of at its next poll."""
        ...

    def members(self) -> order_ports.Members: ...

    def catalog(self) -> order_ports.Catalog: ...

    def coupons(self) -> order_ports.Coupons: ...

    def points(self) -> payment_ports.PointsAccount: ...

    def cards(self) -> payment_ports.CardGateway: ...

    def bnpl(self) -> payment_ports.BnplGateway: ...

    def recipients(self) -> notification_ports.Recipients: ...

    def cache(self, name: str) -> Cache:
        """A cache of other services' answers: this process's memory, or Redis shared by the replicas."""
        ...


@dataclass
class Built:
    service: Any  # the use cases: the consumer of the service's topics, the owner of its jobs' methods
    routers: list[APIRouter] = field(default_factory=list)
    grpc: list[Any] = field(default_factory=list)  # servicers (infra.grpc.GrpcService)
    start: Callable[[], Awaitable[object]] | None = None  # once migrated, before serving
    # The consumer of a topic when it is not `service` (e.g. a cache that forgets what an event changed).
    consumers: dict[str, Consumer] = field(default_factory=dict)


def token_settings(settings: Settings) -> TokenSettings:
    return TokenSettings(
        secret=settings.secret(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.token_ttl_seconds,
    )


def operations(settings: Settings) -> Operations:
    """What the operations endpoints of a process let through (web.app.Operations)."""
    return Operations(
        auth=Auth(token_settings(settings)),
        metrics_token=settings.metrics_token,
        echo=settings.bench_echo,
        max_body_bytes=settings.max_body_bytes,
    )


def member(a: Adapters) -> Built:
    tokens = token_settings(a.settings)
    service = MemberService(
        uow=member_sql.sql_uow(a.database("member"), a.clock),
        clock=a.clock,
        hasher=Argon2Hasher(),
        tokens=JwtTokenIssuer(tokens, a.clock),
        limits=LoginLimits(
            window_seconds=a.settings.login_window_seconds,
            email_failures=a.settings.login_email_failures,
            address_failures=a.settings.login_address_failures,
            signups_per_address=a.settings.signup_address_limit,
        ),
    )
    s = a.settings

    async def first_admin() -> None:
        # The first admin comes from the settings (SPEC §9); the embedded mode's demo data may add its own.
        if s.admin_email and s.admin_password:
            await service.ensure_admin(s.admin_email, s.admin_password)

    routers = [member_rest.router(service, Auth(tokens))]
    return Built(service, routers, [MemberGrpcService(service)], first_admin)


def product(a: Adapters) -> Built:
    db, wake = a.database("product"), a.wake("product")
    uow = product_sql.sql_uow(db, a.clock, wake)
    writes = product_sql.sql_writer(db, a.clock, wake) if a.settings.batch_writes else None
    service = ProductService(uow=uow, clock=a.clock, writes=writes)
    auth = Auth(token_settings(a.settings))
    return Built(service, [product_rest.router(service, auth)], [ProductGrpcService(service)])


def order(a: Adapters) -> Built:
    s, db, wake = a.settings, a.database("order"), a.wake("order")
    uow = order_sql.sql_uow(db, a.clock, wake)
    writes = order_sql.sql_writer(db, a.clock, wake) if s.batch_writes else None
    catalog: order_ports.Catalog = a.catalog()
    consumers: dict[str, Consumer] = {}
    if s.catalog_cache_seconds > 0:
        cached = CachedCatalog(catalog, a.cache("catalog"), ttl_seconds=s.catalog_cache_seconds)
        catalog, consumers[PRODUCT_EVENTS] = cached, CatalogInvalidation(cached)

    async def versions(order_ids: Any) -> dict[str, str]:
        async with uow() as unit:
            return await unit.orders.versions(order_ids)

    service = OrderService(
        uow=uow,
        clock=a.clock,
        members=a.members(),
        catalog=catalog,
        coupons=a.coupons(),
        watch=StatusWatch(versions),
        stuck_after=timedelta(seconds=s.order_stuck_seconds),
        writes=writes,
    )
    return Built(service, [order_rest.router(service, Auth(token_settings(s)))], consumers=consumers)


def payment(a: Adapters) -> Built:
    service = PaymentService(
        uow=payment_sql.sql_uow(a.database("payment"), a.clock, a.wake("payment")),
        clock=a.clock,
        points=a.points(),
        cards=a.cards(),
        bnpl=a.bnpl(),
        metrics=PrometheusPaymentMetrics(),
        lease_seconds=a.settings.payment_lease_seconds,
        event_context=tracing.event_context,
    )
    auth = Auth(token_settings(a.settings))
    return Built(service, [payment_rest.router(service, auth)], [PaymentGrpcService(service)])


def notification(a: Adapters) -> Built:
    db = a.database("notification")
    return Built(build_notifications(db, a.clock, a.recipients(), mailer_for(a.settings)))


def reporting(a: Adapters) -> Built:
    service = ReportingService(uow=reporting_sql.sql_uow(a.database("reporting")), clock=a.clock)
    return Built(service, [reporting_rest.router(service, Auth(token_settings(a.settings)))])


BUILDERS: dict[str, Callable[[Adapters], Built]] = {
    "member": member,
    "product": product,
    "order": order,
    "payment": payment,
    "notification": notification,
    "reporting": reporting,
}
MIGRATIONS: dict[str, History] = {
    "member": MEMBER_MIGRATIONS,
    "product": PRODUCT_MIGRATIONS,
    "order": ORDER_MIGRATIONS,
    "payment": PAYMENT_MIGRATIONS,
    "notification": NOTIFICATION_MIGRATIONS,
    "reporting": REPORTING_MIGRATIONS,
}
