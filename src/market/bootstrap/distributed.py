"""The distributed mode's composition root: one service per OS process (per replica), MariaDB, Kafka, gRPC,
the PG over HTTP. It only chooses adapters; `runner.Platform` runs the service as declared, and
`apps.service_app` serves one replica of it (`market service NAME [--replica I]`).
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from market.bootstrap.topology import grpc_target
from market.infra.cache import Cache, MemoryCache, RedisCache, redis_client
from market.infra.grpc import CallPolicy, Tls, open_channel
from market.infra.mysql import MysqlDatabase, service_database
from market.kernel.clock import Clock
from market.notification.adapters.grpc_client import GrpcRecipients
from market.order.adapters.grpc_client import GrpcCatalog, GrpcCoupons, GrpcMembers
from market.payment.adapters.grpc_client import GrpcPointsAccount
from market.payment.adapters.toss import HttpTransport, TossBnplGateway, TossCardGateway
from market.settings import Settings

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
