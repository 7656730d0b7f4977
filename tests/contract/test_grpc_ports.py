"""order's Members/Catalog/Coupons and payment's PointsAccount ports: in-process and gRPC answer alike.

Every contract test runs twice, against the in-process adapter and against the gRPC client talking to the
gRPC server over a loopback socket; both wrap the same fake services, so results and errors must match.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from market.bootstrap.inprocess import InProcessCatalog, InProcessCoupons, InProcessMembers
from market.grpc_gen.v1 import product_pb2, product_pb2_grpc
from market.infra import tracing
from market.infra.grpc import (
    CHANNEL_OPTIONS,
    MAX_MESSAGE_BYTES,
    CallPolicy,
    GrpcService,
    RunningServer,
    open_channel,
    start_server,
)
from market.infra.logs import ACCESS, ORDER_ID, Correlation
from market.kernel.coupons import IssuedCoupon
from market.kernel.errors import DomainError, NotFound, Unavailable
from market.member.adapters.grpc_server import MemberGrpcService
from market.order.adapters.grpc_client import GrpcCatalog, GrpcCoupons, GrpcMembers
from market.order.ports import MemberSnapshot, ProductSnapshot
from market.payment.adapters.grpc_client import GrpcPointsAccount
from market.payment.adapters.grpc_server import PaymentGrpcService
from market.product.adapters.grpc_server import ProductGrpcService
from tests.contract.grpc_fakes import TEN_PERCENT, WON_OFF, MemberService, Product, ProductService, fakes


@dataclass
class World:
    """The fake services behind the ports, and the four ports under test."""

    member_service: MemberService
    product_service: ProductService
    members: Any
    points: Any
    catalog: Any
    coupons: Any


@pytest.fixture
async def grpc_world() -> AsyncIterator[tuple[World, RunningServer]]:
    members, products, payments = fakes()
    services: list[GrpcService] = [
        MemberGrpcService(members),
        ProductGrpcService(products),
        PaymentGrpcService(payments),
    ]
    server = await start_server(services)
    channel = open_channel(f"127.0.0.1:{server.port}")
    ports = GrpcMembers(channel), GrpcPointsAccount(channel), GrpcCatalog(channel), GrpcCoupons(channel)
    yield World(members, products, *ports), server
    await channel.close()
    await server.stop(0)


@pytest.fixture(params=["in-process", "grpc"])
def world(request: pytest.FixtureRequest) -> World:
    if request.param == "grpc":
        grpc_world: tuple[World, RunningServer] = request.getfixturevalue("grpc_world")
        return grpc_world[0]
    members, products, payments = fakes()
    in_process = InProcessMembers(members)
    return World(
        members, products, in_process, in_process, InProcessCatalog(products), InProcessCoupons(payments)
    )


async def raised(awaitable: Any) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await awaitable
    return caught.value


async def test_members_port(world: World) -> None:
    assert await world.members.get_member("m1") == MemberSnapshot("m1", active=True, point_balance=5_000)
    assert await world.members.get_member("m2") == MemberSnapshot("m2", active=False, point_balance=0)
    assert await world.members.get_member("nobody") is None


async def test_points_account_port(world: World) -> None:
    points = world.points
    assert await points.balance("m1") == 5_000
    await points.use_points("m1", "o1", 2_000)
    await points.use_points("m1", "o1", 2_000)  # the same order again: nothing more taken
    assert await points.balance("m1") == 3_000
    assert await points.refund_points("m1", "o1") == 2_000
    assert await points.refund_points("m1", "o1") == 2_000  # a repeat answers the same, gives nothing more
    assert await points.balance("m1") == 5_000
    assert await points.refund_points("m1", "o-none") == 0
    err = await raised(points.use_points("m1", "o1", 2_000))  # a late use after the refund
    assert (type(err), err.code, err.extra) == (DomainError, "POINTS_REFUNDED", {})


async def test_points_account_partial_refunds(world: World) -> None:
    points = world.points
    await points.use_points("m1", "o1", 2_000)
    assert await points.refund_points("m1", "o1", 500, "cnl_1") == 500
    assert await points.refund_points("m1", "o1", 500, "cnl_1") == 500  # the same refund again
    assert await points.refund_points("m1", "o1", 700, "cnl_2") == 700
    assert await points.balance("m1") == 4_200


async def test_points_account_errors(world: World) -> None:
    points = world.points
    err = await raised(points.use_points("m1", "o2", 6_000))
    assert (type(err), err.code, err.detail, err.extra) == (
        DomainError,
        "INSUFFICIENT_POINTS",
        "포인트가 부족합니다",
        {"balance": 5_000},
    )
    err = await raised(points.use_points("m1", "o2", 0))
    assert (err.code, err.extra) == ("VALIDATION_ERROR", {"errors": [{"field": "amount"}]})
    for missing in (points.use_points("nobody", "o3", 1), points.balance("nobody")):
        err = await raised(missing)
        assert (type(err), err.code, err.detail, err.extra) == (NotFound, "NOT_FOUND", "member not found", {})


async def test_catalog_port(world: World) -> None:
    catalog = world.catalog
    found = await catalog.get_products(["p2", "nope", "p1"])
    assert sorted(found, key=lambda p: p.id) == [
        ProductSnapshot("p1", "s1", "Pen", 1_500, on_sale=True),
        ProductSnapshot("p2", "s1", "Ink", 9_000, on_sale=False),
    ]
    err = await raised(catalog.reserve_stock("o1", [("p1", 2), ("p2", 5)]))
    assert (err.code, err.extra) == ("OUT_OF_STOCK", {"product_id": "p2"})
    assert world.product_service.products["p1"].stock == 10  # all lines or none
    assert await catalog.reserve_stock("o1", [("p1", 2), ("p2", 1)]) is None
    await catalog.reserve_stock("o1", [("p1", 2), ("p2", 1)])
    assert (world.product_service.products["p1"].stock, world.product_service.products["p2"].stock) == (8, 0)
    assert await catalog.release_stock("o1") is None
    await catalog.release_stock("o1")
    assert (world.product_service.products["p1"].stock, world.product_service.products["p2"].stock) == (10, 1)


async def test_a_reservation_at_a_stale_price_is_refused_and_takes_nothing(world: World) -> None:
    catalog = world.catalog
    world.product_service.products["p1"].price = 1_800  # changed after the order read 1,500

    err = await raised(catalog.reserve_stock("o1", [("p1", 2)], {"p1": 1_500}))

    assert (type(err), err.code, err.extra) == (
        DomainError,
        "PRICE_CHANGED",
        {"product_id": "p1", "price": 1_800},
    )
    assert world.product_service.products["p1"].stock == 10 and world.product_service.reserved == {}
    await catalog.reserve_stock("o1", [("p1", 2)], {"p1": 1_800})  # at the current price: taken
    assert world.product_service.products["p1"].stock == 8
    await catalog.reserve_stock("o2", [("p1", 1)])  # no prices (an older client): not checked
    assert world.product_service.products["p1"].stock == 7


async def test_a_price_of_zero_travels_as_a_price(world: World) -> None:
    # proto3 `optional`: 0 is a price to check, not "no price" (an older client's).
    err = await raised(world.catalog.reserve_stock("o1", [("p1", 1)], {"p1": 0}))
    assert err.code == "PRICE_CHANGED"


async def test_coupons_port(world: World) -> None:
    c1 = await world.coupons.get_issued_coupon("c1")
    assert c1 == IssuedCoupon("c1", TEN_PERCENT, "m1", "AVAILABLE")
    assert c1.definition.valid_until.utcoffset() == timedelta(hours=9)
    assert await world.coupons.get_issued_coupon("c2") == IssuedCoupon("c2", WON_OFF, "m1", "USED", "o9")
    assert await world.coupons.get_issued_coupon("nope") is None


async def test_retries_when_unavailable_then_answers(grpc_world: tuple[World, RunningServer]) -> None:
    world, _ = grpc_world
    world.member_service.unavailable_times = 3  # three retries (0.1 + 0.2 + 0.4 s) fit in the 3 s deadline
    assert await world.members.get_member("m1") == MemberSnapshot("m1", True, 5_000)
    world.member_service.unavailable_times = 4
    with pytest.raises(Unavailable):
        await world.members.get_member("m1")


async def test_stopped_server_fails_fast_with_unavailable(grpc_world: tuple[World, RunningServer]) -> None:
    world, server = grpc_world
    await world.members.get_member("m1")  # connected
    await server.stop(0)
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "member": lambda: world.members.get_member("m1"),
        "product": lambda: world.catalog.get_products(["p1"]),
    }
    for service, call in calls.items():
        started = time.monotonic()
        with pytest.raises(Unavailable) as caught:
            await call()
        assert caught.value.what == service
        assert time.monotonic() - started < 5


async def test_slow_server_ends_at_the_deadline(grpc_world: tuple[World, RunningServer]) -> None:
    world, server = grpc_world
    stalled = asyncio.Event()

    async def stall(ids: list[str]) -> list[Product]:
        await stalled.wait()
        return []

    world.product_service.get_products = stall  # type: ignore[method-assign]
    async with open_channel(f"127.0.0.1:{server.port}") as channel:
        started = time.monotonic()
        with pytest.raises(Unavailable):
            await GrpcCatalog(channel, CallPolicy(deadline=0.5)).get_products(["p1"])
        assert 0.4 < time.monotonic() - started < 2
    stalled.set()


async def test_messages_are_limited_to_4_mb(grpc_world: tuple[World, RunningServer]) -> None:
    world, server = grpc_world
    assert ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES) in CHANNEL_OPTIONS
    big = ["x" * 1024] * 5 * 1024
    with pytest.raises(grpc.aio.AioRpcError) as sending:
        await world.catalog.get_products(big)
    assert sending.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    unlimited = [("grpc.max_send_message_length", -1)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}", options=unlimited) as channel:
        stub = product_pb2_grpc.ProductServiceStub(channel)  # type: ignore[no-untyped-call]
        with pytest.raises(grpc.aio.AioRpcError) as receiving:
            await stub.GetProducts(product_pb2.GetProductsRequest(ids=big))
    assert receiving.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_health_service_answers_serving(grpc_world: tuple[World, RunningServer]) -> None:
    _, server = grpc_world
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in (
            "",
            "market.v1.MemberService",
            "market.v1.ProductService",
            "market.v1.PaymentService",
        ):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=3)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_call_carries_the_callers_trace_and_order(
    grpc_world: tuple[World, RunningServer],
) -> None:
    """SPEC §10.5: the server works in the caller's trace (`traceparent` metadata), with the order id."""
    world, _ = grpc_world
    seen: list[tuple[object, object]] = []
    use_points = world.member_service.use_points

    async def noting(member_id: str, order_id: str, amount: int) -> None:
        seen.append((tracing.trace_ids(), ORDER_ID.get()))
        await use_points(member_id, order_id, amount)

    world.member_service.use_points = noting  # type: ignore[method-assign]
    tracing.setup("test")
    lines: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.addFilter(Correlation("member", "member-0"))
    handler.emit = lines.append  # type: ignore[method-assign]
    ACCESS.addHandler(handler)
    level = ACCESS.level
    ACCESS.setLevel(logging.INFO)
    try:
        with tracing.incoming("client", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"):
            await world.points.use_points("m1", "ord_traced", 100)
    finally:
        ACCESS.removeHandler(handler)
        ACCESS.setLevel(level)
    [(ids, order)] = seen
    assert isinstance(ids, tuple) and ids[0] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert order == "ord_traced"
    [line] = [r for r in lines if "UsePoints" in r.getMessage()]  # the access log's line, in the trace
    assert (line.trace_id, line.order_id) == ("4bf92f3577b34da6a3ce929d0e0e4736", "ord_traced")  # type: ignore[attr-defined]
