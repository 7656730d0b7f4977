"""Previewing an order: the verdicts of placing it (same codes, same order), and nothing reserved or written."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from market.kernel.coupons import USED
from market.kernel.errors import DomainError
from market.kernel.plan import Leg
from tests.unit.order.fakes import World, coupon, pg, points
from tests.unit.order.rest_kit import ALICE, problem
from tests.unit.order.test_placing import CASES, PRECEDENCE, assert_nothing_written, ready

# Every rule placing checks, but the stock: only a reservation can tell.
RULES = [case for case in CASES if case[0] != "OUT_OF_STOCK"]


@pytest.mark.parametrize(
    ("code", "lines", "legs", "extra"), RULES, ids=[f"{c[0]}-{i}" for i, c in enumerate(RULES)]
)
async def test_a_preview_answers_what_placing_would_and_writes_nothing(
    world: World, code: str, lines: list[tuple[str, int]], legs: list[Leg], extra: dict[str, Any]
) -> None:
    ready(world)
    extra = dict(extra)
    member_id = extra.pop("member_id", "mem_1")
    with pytest.raises(DomainError) as refused:
        await world.service.preview(member_id, lines, legs)
    with pytest.raises(DomainError) as placing:
        await world.service.place_order(member_id, lines, legs)
    assert refused.value.code == placing.value.code == code
    assert refused.value.extra == placing.value.extra and extra.items() <= refused.value.extra.items()
    assert_nothing_written(world)


@pytest.mark.parametrize(("why", "code", "lines", "legs"), PRECEDENCE, ids=[p[0] for p in PRECEDENCE])
async def test_a_preview_answers_the_first_broken_rule_in_spec_order(
    world: World, why: str, code: str, lines: list[tuple[str, int]], legs: list[Leg]
) -> None:
    ready(world)
    with pytest.raises(DomainError) as refused:
        await world.service.preview("mem_1", lines, legs)
    assert refused.value.code == code, why


async def test_a_plan_that_passes_is_priced_and_nothing_is_reserved_or_written(world: World) -> None:
    world.coupons.issue("icp_1", "mem_1", discount=3_000)
    order = await world.service.preview(
        "mem_1", [("prd_a", 2), ("prd_b", 1)], [pg(8_000), points(1_000), coupon(3_000)]
    )
    assert order.total_amount == 12_000
    assert [(i.product_id, i.unit_price, i.line_amount) for i in order.items] == [
        ("prd_a", 5_000, 10_000),
        ("prd_b", 2_000, 2_000),
    ]
    assert_nothing_written(world)


async def test_a_coupon_held_by_an_order_is_not_applicable_to_a_preview(world: World) -> None:
    issued = world.coupons.issue("icp_1", "mem_1", discount=3_000)
    world.coupons.coupons["icp_1"] = replace(issued, status=USED, order_id="ord_earlier")
    with pytest.raises(DomainError) as refused:
        await world.service.preview("mem_1", [("prd_a", 1)], [pg(2_000), coupon(3_000)])
    assert refused.value.code == "COUPON_NOT_APPLICABLE"


async def test_the_rest_route_answers_the_priced_plan_or_the_rules_problem(http: httpx.AsyncClient) -> None:
    body = {
        "items": [{"product_id": "prd_a", "quantity": 2}],
        "payments": [{"method": "PG", "amount": 9_000, "payment_key": "pk_test_ok"},
                     {"method": "POINT", "amount": 1_000}],
    }  # fmt: skip
    r = await http.post("/api/v1/orders/preview", headers=ALICE, json=body)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "total_amount": 10_000,
        "items": [
            {"product_id": "prd_a", "name": "Product prd_a", "unit_price": 5_000, "quantity": 2,
             "line_amount": 10_000},
        ],
        "payments": [{"method": "PG", "amount": 9_000}, {"method": "POINT", "amount": 1_000}],
    }  # fmt: skip
    body["payments"][1]["amount"] = 2_000
    refused = problem(
        await http.post("/api/v1/orders/preview", headers=ALICE, json=body), 422, "AMOUNT_MISMATCH"
    )
    assert refused["expected_total"] == 10_000
    assert (await http.get("/api/v1/orders", headers=ALICE)).json()["items"] == []
