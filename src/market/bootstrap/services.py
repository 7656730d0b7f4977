"""The four services wired to their SQL adapters, shared by both composition roots."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter

from market.kernel.clock import Clock
from market.kernel.db import Database
from market.member.adapters import rest as member_rest
from market.member.adapters import sql as member_sql
from market.member.adapters.argon2 import Argon2Hasher
from market.member.adapters.jwt import JwtTokenIssuer
from market.member.use_cases import MemberService
from market.order.adapters import rest as order_rest
from market.order.adapters import rest_lanes as order_lanes
from market.order.adapters import sql as order_sql
from market.order.adapters.catalog_cache import CachedCatalog
from market.order.adapters.watch import AsyncioStatusWatch
from market.order.ports import Catalog
from market.order.use_cases import OrderService
from market.payment.adapters import rest as payment_rest
from market.payment.adapters import sql as payment_sql
from market.payment.adapters.metrics import PrometheusPaymentMetrics
from market.payment.adapters.stepping_aside import SteppingAsideBnpl, SteppingAsideCards
from market.payment.use_cases import PaymentService
from market.product.adapters import rest as product_rest
from market.product.adapters import sql as product_sql
from market.product.use_cases import ProductService
from market.settings import Settings
from market.web.auth import Auth, TokenSettings
from market.web.lanes import FastLanes


@dataclass
class Services:
    member: MemberService
    product: ProductService
    order: OrderService
    payment: PaymentService


def token_settings(settings: Settings) -> TokenSettings:
    return TokenSettings(
        secret=settings.secret(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.token_ttl_seconds,
    )


def cached_catalog(catalog: Catalog, clock: Clock, settings: Settings) -> Catalog:
    """The order service's Catalog port, with recently read products kept (unless the TTL is 0)."""
    if settings.catalog_cache_seconds <= 0:
        return catalog
    return CachedCatalog(
        catalog, clock, ttl_seconds=settings.catalog_cache_seconds, size=settings.catalog_cache_size
    )


def build_services(
    settings: Settings,
    clock: Clock,
    dbs: Mapping[str, Database],
    wakes: Mapping[str, asyncio.Event],
    *,
    members_port: Callable[[MemberService], Any],
    catalog_port: Callable[[ProductService], Any],
    coupons_port: Callable[[PaymentService], Any],
    cards: Any,
    bnpl: Any,
) -> Services:
    """Wire the services. A port that another service serves is made by a `*_port(provider)` factory:
    the in-process adapters wrap the provider; the gRPC clients of the distributed mode ignore it."""
    member = MemberService(
        uow=member_sql.sql_uow(dbs["member"], clock),
        clock=clock,
        hasher=Argon2Hasher(),
        tokens=JwtTokenIssuer(token_settings(settings), clock),
    )
    product = ProductService(uow=product_sql.sql_uow(dbs["product"], clock), clock=clock)
    payment = PaymentService(
        uow=payment_sql.sql_uow(dbs["payment"], clock, wakes.get("payment")),
        clock=clock,
        points=members_port(member),
        cards=SteppingAsideCards(cards),
        bnpl=SteppingAsideBnpl(bnpl),
        metrics=PrometheusPaymentMetrics(),
        lease_seconds=settings.payment_lease_seconds,
    )
    order = OrderService(
        uow=order_sql.sql_uow(dbs["order"], clock, wakes.get("order")),
        clock=clock,
        members=members_port(member),
        catalog=cached_catalog(catalog_port(product), clock, settings),
        coupons=coupons_port(payment),
        watch=AsyncioStatusWatch(),
    )
    return Services(member, product, order, payment)


def routers(services: Services, auth: Auth, lanes: FastLanes) -> list[APIRouter]:
    """Every service's routes; the order service's hot ones also get fast lanes in `lanes`."""
    order_lanes.register(services.order, auth, lanes)
    return [
        member_rest.router(services.member, auth),
        product_rest.router(services.product, auth),
        order_rest.router(services.order, auth),
        payment_rest.router(services.payment, auth),
    ]
