"""POST /orders/{id}/cancel with a body (SPEC §10.3): what it cancels, its refusals, its Idempotency-Key."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.unit.order.fakes import World
from tests.unit.order.rest_kit import ALICE, PG, eventually, post_order, problem


async def paid_order(http: httpx.AsyncClient, world: World) -> dict[str, Any]:
    """3 × prd_a at 5,000 won, paid by card."""
    r = await post_order(
        http, {"items": [{"product_id": "prd_a", "quantity": 3}], "payments": [dict(PG, amount=15_000)]}
    )
    await world.pay(await world.order(r.json()["id"]))
    return dict(r.json())


def cancel(http: httpx.AsyncClient, order: dict[str, Any], key: str, body: Any = None, **headers: str) -> Any:
    path = f"/api/v1/orders/{order['id']}/cancel"
    return http.post(path, headers={**ALICE, "Idempotency-Key": key, **headers}, json=body)


@pytest.mark.parametrize("body", [None, {}, {"reason": "changed my mind"}])
async def test_without_items_everything_open_is_cancelled(
    http: httpx.AsyncClient, world: World, body: Any
) -> None:
    order = await paid_order(http, world)
    r = await cancel(http, order, "k1", body)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "CANCELLING"
    [c] = r.json()["cancellations"]
    assert c["items"] == [{"product_id": "prd_a", "quantity": 3}] and c["refund_amount"] == 15_000


async def test_with_items_the_order_stays_paid_with_its_cancellation_pending(
    http: httpx.AsyncClient, world: World
) -> None:
    order = await paid_order(http, world)
    r = await cancel(
        http, order, "k1", {"items": [{"product_id": "prd_a", "quantity": 1}], "reason": "too many"}
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "PAID" and body["items"][0]["cancelled_quantity"] == 0
    [c] = body["cancellations"]
    assert (c["refund_amount"], c["refunds"], c["refunded_at"], c["reason"]) == (
        5_000,
        [{"method": "PG", "amount": 5_000}],
        None,
        "too many",
    )
    problem(
        await cancel(http, order, "k2", {"items": [{"product_id": "prd_a", "quantity": 1}]}),
        409,
        "ORDER_NOT_CANCELLABLE",
    )


async def test_prefer_wait_answers_once_the_partial_refund_went_through(
    http: httpx.AsyncClient, world: World
) -> None:
    order = await paid_order(http, world)

    async def refund() -> None:
        await eventually(lambda: world.state.orders[order["id"]].pending_cancellation is not None)
        await asyncio.sleep(0.05)
        await world.refund_part(world.state.orders[order["id"]])

    refunding = asyncio.create_task(refund())
    r = await cancel(http, order, "k1", {"items": [{"product_id": "prd_a", "quantity": 2}]}, Prefer="wait=5")
    await refunding
    assert r.status_code == 202 and r.headers["preference-applied"] == "wait=5"
    body = r.json()
    assert body["status"] == "PAID" and body["items"][0]["cancelled_quantity"] == 2
    assert body["payments"][0]["refunded_amount"] == 10_000
    assert body["cancellations"][0]["refunded_at"] is not None


@pytest.mark.parametrize(
    ("items", "code"),
    [
        ([], "VALIDATION_ERROR"),
        ([{"product_id": "prd_a", "quantity": 0}], "VALIDATION_ERROR"),
        ([{"product_id": "prd_a", "quantity": -1}], "VALIDATION_ERROR"),
        (
            [{"product_id": "prd_a", "quantity": 1}, {"product_id": "prd_a", "quantity": 1}],
            "VALIDATION_ERROR",
        ),
        ([{"product_id": "prd_a", "quantity": "1"}], "VALIDATION_ERROR"),
        ([{"product_id": "prd_b", "quantity": 1}], "PRODUCT_NOT_IN_ORDER"),
        ([{"product_id": "prd_a", "quantity": 4}], "CANCEL_QUANTITY_EXCEEDED"),
    ],
)
async def test_what_cannot_be_cancelled_is_422(
    http: httpx.AsyncClient, world: World, items: list[dict[str, Any]], code: str
) -> None:
    order = await paid_order(http, world)
    problem(await cancel(http, order, "k1", {"items": items}), 422, code)
    # A refusal leaves no trace: the key may be used again.
    r = await cancel(http, order, "k1", {"items": [{"product_id": "prd_a", "quantity": 1}]})
    assert r.status_code == 202


async def test_the_same_key_replays_the_same_cancel_and_refuses_another(
    http: httpx.AsyncClient, world: World
) -> None:
    order = await paid_order(http, world)
    one = {"items": [{"product_id": "prd_a", "quantity": 1}]}
    first = await cancel(http, order, "k1", one)
    again = await cancel(http, order, "k1", one)
    assert (again.status_code, again.content) == (202, first.content)
    problem(
        await cancel(http, order, "k1", {"items": [{"product_id": "prd_a", "quantity": 2}]}),
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )
    problem(await cancel(http, order, "k1"), 422, "IDEMPOTENCY_KEY_REUSED")
