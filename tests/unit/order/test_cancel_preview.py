"""POST /orders/{id}/cancel/preview: the refund split a cancel would give, shown before confirming; nothing
is cancelled."""

from __future__ import annotations

import httpx

from tests.unit.order.fakes import World, pg, points
from tests.unit.order.rest_kit import ALICE, problem
from tests.unit.order.test_partial_cancel_rest import cancel


async def test_a_preview_splits_the_refund_over_the_legs_as_the_cancel_does_and_cancels_nothing(
    http: httpx.AsyncClient, world: World
) -> None:
    placed = await world.service.place_order(
        "mem_1", [("prd_a", 2), ("prd_b", 1)], [pg(11_000), points(1_000)]
    )
    await world.pay(placed)
    path = f"/api/v1/orders/{placed.id}/cancel/preview"
    body = {"items": [{"product_id": "prd_b", "quantity": 1}]}

    previewed = await http.post(path, headers=ALICE, json=body)

    assert previewed.status_code == 200, previewed.text
    # 2,000 won back: POINT gets floor(2,000 × 1,000 / 12,000) = 166, the card (the main leg) the rest.
    assert previewed.json() == {
        "items": [{"product_id": "prd_b", "quantity": 1}],
        "refund_amount": 2_000,
        "refunds": [{"method": "PG", "amount": 1_834}, {"method": "POINT", "amount": 166}],
    }
    order = (await http.get(f"/api/v1/orders/{placed.id}", headers=ALICE)).json()
    assert order["status"] == "PAID" and order["cancellations"] == []
    done = await cancel(http, order, "k1", body)
    assert done.json()["cancellations"][0]["refunds"] == previewed.json()["refunds"]


async def test_a_preview_answers_the_cancels_own_refusals(http: httpx.AsyncClient, world: World) -> None:
    placed = await world.service.place_order("mem_1", [("prd_a", 1)], [pg(5_000)])
    path = f"/api/v1/orders/{placed.id}/cancel/preview"
    problem(await http.post(path, headers=ALICE, json={}), 409, "ORDER_NOT_CANCELLABLE")  # not paid yet
    await world.pay(placed)
    too_many = {"items": [{"product_id": "prd_a", "quantity": 2}]}
    problem(await http.post(path, headers=ALICE, json=too_many), 422, "CANCEL_QUANTITY_EXCEEDED")
    whole = await http.post(path, headers=ALICE)
    assert whole.json()["refunds"] == [{"method": "PG", "amount": 5_000}]
