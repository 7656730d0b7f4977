"""Placing an order: every rejection code the order service answers, their precedence, and the happy path."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any

import pytest

from market.kernel.errors import DomainError, Unavailable
from market.kernel.plan import Leg
from market.order.adapters.memory import memory_uow
from tests.unit.order.fakes import World, bnpl, coupon, pg, points

A = ("prd_a", 1)  # 5,000 won

CASES: list[tuple[str, list[tuple[str, int]], list[Leg], dict[str, Any]]] = [
    ("TOO_MANY_ITEMS", [(f"prd_{i}", 1) for i in range(51)], [pg(5_000)], {}),
    ("VALIDATION_ERROR", [], [pg(5_000)], {}),
    ("INVALID_QUANTITY", [("prd_a", 0)], [pg(0)], {"product_id": "prd_a"}),
    ("INVALID_QUANTITY", [("prd_a", 1000)], [pg(5_000)], {"product_id": "prd_a"}),
    ("DUPLICATE_PRODUCT", [A, A], [pg(10_000)], {"product_id": "prd_a"}),
    ("VALIDATION_ERROR", [A], [], {}),
    ("VALIDATION_ERROR", [A], [pg(0)], {}),
    ("VALIDATION_ERROR", [A], [Leg(pg(1).method, 5_000)], {}),  # PG without a payment key
    ("VALIDATION_ERROR", [A], [pg(2_000), Leg(coupon(1).method, 3_000)], {}),  # COUPON without a coupon id
    ("DUPLICATE_PAYMENT_METHOD", [A], [pg(2_500), pg(2_500)], {}),
    ("BNPL_COMPOSITE_NOT_ALLOWED", [A], [bnpl(4_000), pg(1_000)], {}),
    ("COUPON_STANDALONE_NOT_ALLOWED", [A], [coupon(5_000)], {}),
    ("COMPOSITE_REQUIRES_PG", [A], [points(1_000), coupon(4_000)], {}),
    ("BNPL_MIN_AMOUNT", [A], [bnpl(5_000)], {"min_amount": 10_000}),
    ("PRODUCT_NOT_FOUND", [("prd_missing", 1)], [pg(5_000)], {"product_id": "prd_missing"}),
    ("PRODUCT_NOT_ON_SALE", [("prd_stopped", 1)], [pg(5_000)], {"product_id": "prd_stopped"}),
    ("AMOUNT_MISMATCH", [A], [pg(4_000)], {"expected_total": 5_000}),
    ("COUPON_NOT_APPLICABLE", [A], [pg(2_000), coupon(3_000, "icp_missing")], {}),
    ("COUPON_NOT_APPLICABLE", [A], [pg(2_000), coupon(3_000, "icp_bobs")], {}),
    ("AMOUNT_MISMATCH", [A], [pg(4_000), coupon(1_000)], {"expected_coupon_amount": 3_000}),
    ("INSUFFICIENT_POINTS", [A], [pg(3_000), points(2_000)], {"point_balance": 1_000}),
    ("OUT_OF_STOCK", [("prd_a", 4)], [pg(20_000)], {"product_id": "prd_a"}),
    ("NOT_FOUND", [A], [pg(5_000)], {"member_id": "mem_nobody"}),
    ("FORBIDDEN", [A], [pg(5_000)], {"member_id": "mem_gone"}),
]


def ready(world: World) -> World:
    world.catalog.add("prd_stopped", 5_000, on_sale=False)
    world.coupons.issue("icp_1", "mem_1", discount=3_000)
    world.coupons.issue("icp_bobs", "mem_bob", discount=3_000)
    world.member("mem_gone", points=0, active=False)
    return world


def assert_nothing_written(world: World) -> None:
    assert world.state.orders == {}
    assert world.state.outbox == []
    assert world.catalog.reservations == {}
    assert (world.catalog.stock["prd_a"], world.catalog.stock["prd_b"]) == (3, 10)


@pytest.mark.parametrize(
    ("code", "lines", "legs", "extra"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
async def test_each_broken_rule_answers_its_code_and_writes_nothing(
    world: World, code: str, lines: list[tuple[str, int]], legs: list[Leg], extra: dict[str, Any]
) -> None:
    ready(world)
    extra = dict(extra)
    member_id = extra.pop("member_id", "mem_1")
    with pytest.raises(DomainError) as refused:
        await world.service.place_order(member_id, lines, legs)
    assert refused.value.code == code
    assert extra.items() <= refused.value.extra.items()
    assert_nothing_written(world)


PRECEDENCE: list[tuple[str, str, list[tuple[str, int]], list[Leg]]] = [
    ("lines before the plan", "TOO_MANY_ITEMS", [(f"prd_{i}", 1) for i in range(51)], [pg(1), pg(1)]),
    ("quantity before duplicates", "INVALID_QUANTITY", [A, ("prd_a", 0)], [pg(5_000)]),
    ("duplicates before the plan", "DUPLICATE_PRODUCT", [A, A], [bnpl(4_000), pg(1_000)]),
    ("the plan before the products", "COUPON_STANDALONE_NOT_ALLOWED", [("prd_missing", 1)], [coupon(5_000)]),
    ("existence before sale", "PRODUCT_NOT_FOUND", [("prd_stopped", 1), ("prd_missing", 1)], [pg(10_000)]),
    ("products before the total", "PRODUCT_NOT_ON_SALE", [("prd_stopped", 1)], [pg(1)]),
    ("the total before the coupon", "AMOUNT_MISMATCH", [A], [pg(1), coupon(3_000, "icp_bobs")]),
    (
        "the coupon before the points",
        "COUPON_NOT_APPLICABLE",
        [A],
        [pg(1), points(1_999), coupon(3_000, "icp_x")],
    ),
    ("the points before the stock", "INSUFFICIENT_POINTS", [("prd_a", 4)], [pg(15_000), points(5_000)]),
]


@pytest.mark.parametrize(("why", "code", "lines", "legs"), PRECEDENCE, ids=[p[0] for p in PRECEDENCE])
async def test_the_first_broken_rule_in_spec_order_answers(
    world: World, why: str, code: str, lines: list[tuple[str, int]], legs: list[Leg]
) -> None:
    ready(world)
    with pytest.raises(DomainError) as refused:
        await world.service.place_order("mem_1", lines, legs)
    assert refused.value.code == code, why
    assert_nothing_written(world)


async def test_the_plan_is_checked_before_the_member_is_looked_up(world: World) -> None:
    with pytest.raises(DomainError) as refused:
        await world.service.place_order("mem_nobody", [A], [pg(2_500), pg(2_500)])
    assert refused.value.code == "DUPLICATE_PAYMENT_METHOD"


async def test_a_placed_order_is_pending_with_catalog_prices_its_stock_reserved_and_announced(
    world: World,
) -> None:
    world.coupons.issue("icp_1", "mem_1", discount=3_000)
    order = await world.service.place_order(
        "mem_1", [("prd_a", 2), ("prd_b", 1)], [pg(8_000), points(1_000), coupon(3_000)]
    )
    assert order.status == "PENDING" and order.total_amount == 12_000
    assert [(i.product_id, i.name, i.unit_price, i.quantity, i.line_amount) for i in order.items] == [
        ("prd_a", "Product prd_a", 5_000, 2, 10_000),
        ("prd_b", "Product prd_b", 2_000, 1, 2_000),
    ]
    assert [(p.method, p.amount, p.status) for p in order.payments] == [
        ("PG", 8_000, "PENDING"),
        ("POINT", 1_000, "PENDING"),
        ("COUPON", 3_000, "PENDING"),
    ]
    assert [t.event for t in order.timeline] == ["ORDER_PLACED"]
    assert await world.order(order.id) == order
    assert world.catalog.reservations == {order.id: [("prd_a", 2), ("prd_b", 1)]}
    assert world.catalog.stock["prd_a"] == 1
    [created] = world.events()
    assert (created.type, created.order_id) == ("OrderCreated", order.id)
    assert created.payload == {
        "member_id": "mem_1",
        "total_amount": 12_000,
        "items": [
            {
                "product_id": "prd_a",
                "quantity": 2,
                "unit_price": 5_000,
                "seller_id": "sel_1",
                "name": "Product prd_a",
            },
            {
                "product_id": "prd_b",
                "quantity": 1,
                "unit_price": 2_000,
                "seller_id": "sel_1",
                "name": "Product prd_b",
            },
        ],
        "payments": [
            {"method": "PG", "amount": 8_000, "payment_key": "pk_test_ok", "coupon_id": None},
            {"method": "POINT", "amount": 1_000, "payment_key": None, "coupon_id": None},
            {"method": "COUPON", "amount": 3_000, "payment_key": None, "coupon_id": "icp_1"},
        ],
    }


async def test_the_total_is_the_catalogs_whatever_the_client_believes(world: World) -> None:
    # The client thinks prd_a costs 1,000 won; the catalog says 5,000.
    with pytest.raises(DomainError) as refused:
        await world.service.place_order("mem_1", [("prd_a", 2)], [pg(2_000)])
    assert refused.value.code == "AMOUNT_MISMATCH" and refused.value.extra["expected_total"] == 10_000
    order = await world.service.place_order("mem_1", [("prd_a", 2)], [pg(10_000)])
    assert order.total_amount == 10_000 and order.items[0].unit_price == 5_000


async def test_a_payment_key_on_a_point_leg_is_not_passed_on(world: World) -> None:
    order = await world.service.place_order(
        "mem_1", [A], [pg(4_000), Leg(points(1).method, 1_000, "pk_x", "icp_x")]
    )
    assert world.events()[0].payload["payments"][1] == {
        "method": "POINT",
        "amount": 1_000,
        "payment_key": None,
        "coupon_id": None,
    }
    assert order.payments[1].payment_key is None


async def test_if_the_order_cannot_be_stored_its_stock_is_given_back(world: World) -> None:
    inner = memory_uow(world.state)

    @asynccontextmanager
    async def broken_uow():  # type: ignore[no-untyped-def]
        async with inner() as uow:
            yield uow
            raise RuntimeError("disk full")

    world.rewire(broken_uow)
    with pytest.raises(RuntimeError):
        await world.place("mem_1", A)
    assert_nothing_written(world)
    assert len(world.catalog.released) == 1


async def test_if_the_catalog_does_not_answer_the_reservation_is_undone(world: World) -> None:
    world.catalog.unreachable = True
    with pytest.raises(Unavailable):
        await world.place("mem_1", A)
    assert world.state.orders == {} and world.state.outbox == []
    assert len(world.catalog.released) == 1  # in case the reservation was taken before the line dropped


async def test_member_products_and_coupon_are_looked_up_together(world: World) -> None:
    world.coupons.issue("icp_1", "mem_1", discount=3_000)
    # Each lookup waits for the other two: sequential lookups would never finish.
    gate = asyncio.Barrier(3)
    world.members.gate = world.catalog.gate = world.coupons.gate = gate
    order = await asyncio.wait_for(
        world.service.place_order("mem_1", [A], [pg(2_000), coupon(3_000)]), timeout=2
    )
    assert order.status == "PENDING"
