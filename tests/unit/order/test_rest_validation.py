"""The order REST API refuses what it cannot read: 422 problem+json, nothing written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.unit.order.fakes import World
from tests.unit.order.rest_kit import ALICE, LINE, PG, post_order, problem


@pytest.mark.parametrize("key", [None, "", "k" * 256])
async def test_the_idempotency_key_is_required_and_at_most_255_characters(
    http: httpx.AsyncClient, key: str | None
) -> None:
    headers = {**ALICE, **({} if key is None else {"Idempotency-Key": key})}
    r = await http.post("/api/v1/orders", headers=headers, json={"items": [LINE], "payments": [PG]})
    problem(r, 422, "VALIDATION_ERROR")
    assert (await post_order(http, key="k" * 255)).status_code == 201


MALFORMED: list[Any] = [
    b"{",
    b"null",
    b"[]",
    b'"text"',
    b'{"items": [}',
    b"\xff\x01",  # not UTF-8: FastAPI's own answer was a 400
    '{"items": [], "payments": []}'.encode("utf-16"),
    {"items": [LINE]},
    {"items": [{"product_id": "prd_a", "quantity": "2"}], "payments": [PG]},
    {"items": [{"product_id": "prd_a", "quantity": 1.0}], "payments": [PG]},
    {"items": [LINE], "payments": [{**PG, "amount": 1.5}]},
    {"items": [LINE], "payments": [{**PG, "amount": "5000"}]},
    {"items": [LINE], "payments": [{**PG, "amount": 10**30}]},
    {"items": [{"product_id": "prd_a", "quantity": 10**40}], "payments": [PG]},
    {"items": [LINE], "payments": [{"method": "CASH", "amount": 5_000}]},
    {"items": [LINE], "payments": [PG], "extra": True},
    {"items": [{**LINE, "unit_price": 1}], "payments": [{**PG, "amount": 1}]},
    {"items": [{"product_id": 7, "quantity": 1}], "payments": [PG]},
    {"items": [LINE], "payments": [{**PG, "amount": -5_000}]},
]


@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
async def test_a_malformed_body_is_a_422_problem_and_writes_nothing(
    http: httpx.AsyncClient, world: World, body: Any
) -> None:
    r = await post_order(http, content=body) if isinstance(body, bytes) else await post_order(http, body)
    problem(r, 422, "VALIDATION_ERROR")
    assert world.state.orders == {} and world.state.keys == {} and world.catalog.reservations == {}


@pytest.mark.parametrize(
    ("items", "payments", "status", "code"),
    [
        ([{"product_id": "prd_a", "quantity": 1000}], [PG], 422, "INVALID_QUANTITY"),
        ([{"product_id": f"prd_{i}", "quantity": 1} for i in range(51)], [PG], 422, "TOO_MANY_ITEMS"),
        (
            [LINE],
            [{"method": "COUPON", "amount": 5_000, "coupon_id": "icp_1"}],
            422,
            "COUPON_STANDALONE_NOT_ALLOWED",
        ),
        ([{"product_id": "prd_a", "quantity": 4}], [{**PG, "amount": 20_000}], 409, "OUT_OF_STOCK"),
    ],
)
async def test_business_limits_answer_their_own_code(
    http: httpx.AsyncClient, world: World, items: Any, payments: Any, status: int, code: str
) -> None:
    problem(await post_order(http, {"items": items, "payments": payments}), status, code)
    assert world.state.orders == {} and world.state.keys == {}


async def test_an_amount_mismatch_says_the_expected_total(http: httpx.AsyncClient) -> None:
    body = problem(
        await post_order(http, {"items": [LINE], "payments": [{**PG, "amount": 4_000}]}),
        422,
        "AMOUNT_MISMATCH",
    )
    assert body["expected_total"] == 5_000
