"""The order mix posts bodies the platform accepts: legs add up to the total, BNPL meets its minimum."""

from __future__ import annotations

import random

from market_bench.plans import BNPL_MIN, MIX, Product, Shopper, order_body

PRODUCTS = [Product("prd_a", 3_000), Product("prd_b", 7_500), Product("prd_c", 12_000)]


def _total(body: dict[str, list[dict[str, object]]]) -> int:
    prices = {p.id: p.price for p in PRODUCTS}
    return sum(prices[str(i["product_id"])] * int(str(i["quantity"])) for i in body["items"])


def test_every_plan_pays_its_order_total_exactly() -> None:
    rng = random.Random(7)
    for plan in MIX:
        for _ in range(50):
            used, body = order_body(rng, PRODUCTS, Shopper("m", "t", ["cpn_1"]), 1_000, plan)
            legs = body["payments"]
            assert sum(int(str(leg["amount"])) for leg in legs) == _total(body), (plan, body)
            assert all(int(str(leg["amount"])) > 0 for leg in legs), (plan, body)
            if used == "BNPL":
                assert _total(body) >= BNPL_MIN


def test_a_coupon_order_without_a_coupon_left_pays_by_card_and_points() -> None:
    shopper = Shopper("m", "t", ["cpn_1"])
    first, body = order_body(random.Random(1), PRODUCTS, shopper, 1_000, "PG+POINT+COUPON")
    assert first == "PG+POINT+COUPON" and body["payments"][2]["coupon_id"] == "cpn_1"
    second, body = order_body(random.Random(1), PRODUCTS, shopper, 1_000, "PG+POINT+COUPON")
    assert second == "PG+POINT" and [leg["method"] for leg in body["payments"]] == ["PG", "POINT"]
