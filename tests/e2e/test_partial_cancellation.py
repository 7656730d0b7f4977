"""Partial cancellation through the public API (SPEC §10.3), for every payment plan: each cancel refunds
its share of every leg to the won, points come back through the ledger, the coupon only with the last line,
the stock of what was cancelled is released, and the order is CANCELLED once nothing is open."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.e2e.client import Api, Member, line, pg
from tests.e2e.test_walkthrough import eventually, stock_of


async def paid(api: Api, member: Member, items: list[dict[str, Any]], payments: list[dict[str, Any]]) -> str:
    r = await api.order(member, items, payments, wait=10)
    assert r.status_code == 201 and r.json()["status"] == "PAID", r.text
    return str(r.json()["id"])


async def cancel(
    api: Api, member: Member, order_id: str, *items: tuple[dict[str, Any], int]
) -> dict[str, Any]:
    """Cancel `items` (product, quantity) of the order, or all of it; the order once the refund went through."""
    asked = [{"product_id": p["id"], "quantity": q} for p, q in items] if items else None
    r = await api.cancel(member, order_id, items=asked, wait=10)
    assert r.status_code == 202, r.text
    order: dict[str, Any] = r.json()
    assert order["status"] in ("PAID", "CANCELLED") and order["cancellations"][-1]["refunded_at"], order
    return order


async def refunded(api: Api, member: Member, order_id: str) -> dict[str, int]:
    history = (await api.get(member, f"/payments?order_id={order_id}")).json()["items"]
    return {h["method"]: h["refunded_amount"] for h in history}


async def points(api: Api, member: Member) -> int:
    return int((await api.get(member, "/members/me")).json()["point_balance"])


async def test_pg(api: Api) -> None:
    tee = await api.product(price=3_000, stock=10)
    member = await api.member()
    order_id = await paid(api, member, [line(tee, 3)], [pg(9_000)])

    order = await cancel(api, member, order_id, (tee, 1))
    assert order["status"] == "PAID"
    assert order["items"][0]["cancelled_quantity"] == 1
    assert order["payments"][0]["refunded_amount"] == 3_000
    assert await refunded(api, member, order_id) == {"PG": 3_000}
    assert await eventually(lambda: stock_of(api, tee["id"]), 8)

    order = await cancel(api, member, order_id)
    assert order["status"] == "CANCELLED" and order["cancelled_at"]
    assert await refunded(api, member, order_id) == {"PG": 9_000}
    assert await eventually(lambda: stock_of(api, tee["id"]), 10)


async def test_pg_and_points(api: Api) -> None:
    mug, tea = await api.product(price=7_000, stock=5), await api.product(price=3_000, stock=5)
    member = await api.member(points=5_000)
    order_id = await paid(
        api, member, [line(mug, 2), line(tea)], [pg(12_000), {"method": "POINT", "amount": 5_000}]
    )

    await cancel(api, member, order_id, (mug, 1))
    # 7,000 of 17,000: floor(7,000 × 5,000 / 17,000) = 2,058 points, the PG the rest.
    assert await refunded(api, member, order_id) == {"PG": 4_942, "POINT": 2_058}
    assert await points(api, member) == 2_058
    ledger = (await api.get(member, "/members/me/points")).json()["items"]
    assert (ledger[0]["delta"], ledger[0]["reason"], ledger[0]["order_id"]) == (2_058, "REFUND", order_id)

    await cancel(api, member, order_id, (tea, 1))
    # 10,000 of 17,000 so far: 2,941 points in all, so 883 now; the PG 7,059 in all.
    assert await refunded(api, member, order_id) == {"PG": 7_059, "POINT": 2_941}
    assert await points(api, member) == 2_941

    order = await cancel(api, member, order_id, (mug, 1))  # what is left: the whole cancel
    assert order["status"] == "CANCELLED"
    assert await refunded(api, member, order_id) == {"PG": 12_000, "POINT": 5_000}
    assert await points(api, member) == 5_000
    assert await eventually(lambda: stock_of(api, mug["id"]), 5)
    assert await eventually(lambda: stock_of(api, tea["id"]), 5)


async def test_pg_points_and_coupon(api: Api) -> None:
    lamp = await api.product(price=10_000, stock=4)
    member = await api.member(points=3_000)
    coupon = await api.coupon(member, discount_value=2_000)
    plan = [
        pg(15_000),
        {"method": "POINT", "amount": 3_000},
        {"method": "COUPON", "coupon_id": coupon["id"], "amount": 2_000},
    ]
    order_id = await paid(api, member, [line(lamp, 2)], plan)

    await cancel(api, member, order_id, (lamp, 1))
    assert await refunded(api, member, order_id) == {"PG": 7_500, "POINT": 1_500, "COUPON": 1_000}
    assert await points(api, member) == 1_500
    coupons = (await api.get(member, "/members/me/coupons")).json()["items"]
    assert [c["status"] for c in coupons] == ["USED"]  # the coupon comes back only with the last line
    assert await eventually(lambda: stock_of(api, lamp["id"]), 3)

    order = await cancel(api, member, order_id)
    assert order["status"] == "CANCELLED"
    assert [p["refunded_amount"] for p in order["payments"]] == [15_000, 3_000, 2_000]
    assert await refunded(api, member, order_id) == {"PG": 15_000, "POINT": 3_000, "COUPON": 2_000}
    assert await points(api, member) == 3_000
    coupons = (await api.get(member, "/members/me/coupons")).json()["items"]
    assert [c["status"] for c in coupons] == ["AVAILABLE"]
    assert await eventually(lambda: stock_of(api, lamp["id"]), 4)


async def test_bnpl(api: Api) -> None:
    desk = await api.product(price=12_000, stock=3)
    member = await api.member()
    order_id = await paid(
        api, member, [line(desk, 2)], [{"method": "BNPL", "amount": 24_000, "payment_key": "bnpl_test_ok"}]
    )

    await cancel(api, member, order_id, (desk, 1))
    assert await refunded(api, member, order_id) == {"BNPL": 12_000}
    order = await cancel(api, member, order_id)
    assert order["status"] == "CANCELLED"
    assert await refunded(api, member, order_id) == {"BNPL": 24_000}
    assert await eventually(lambda: stock_of(api, desk["id"]), 3)


async def test_points_alone(api: Api) -> None:
    pen = await api.product(price=2_500, stock=4)
    member = await api.member(points=10_000)
    order_id = await paid(api, member, [line(pen, 4)], [{"method": "POINT", "amount": 10_000}])

    await cancel(api, member, order_id, (pen, 3))
    assert await refunded(api, member, order_id) == {"POINT": 7_500}
    assert await points(api, member) == 7_500
    await cancel(api, member, order_id)
    assert await points(api, member) == 10_000
    assert await eventually(lambda: stock_of(api, pen["id"]), 4)


async def test_refusals_and_one_cancellation_at_a_time(api: Api) -> None:
    cup = await api.product(price=1_000, stock=10)
    member = await api.member()
    order_id = await paid(api, member, [line(cup, 3)], [pg(3_000)])

    more = await api.cancel(member, order_id, items=[{"product_id": cup["id"], "quantity": 4}])
    assert (more.status_code, more.json()["code"]) == (422, "CANCEL_QUANTITY_EXCEEDED")
    other = await api.cancel(member, order_id, items=[{"product_id": "prd_nope", "quantity": 1}])
    assert (other.status_code, other.json()["code"]) == (422, "PRODUCT_NOT_IN_ORDER")
    zero = await api.cancel(member, order_id, items=[{"product_id": cup["id"], "quantity": 0}])
    assert (zero.status_code, zero.json()["code"]) == (422, "VALIDATION_ERROR")

    one = [{"product_id": cup["id"], "quantity": 1}]
    racing = await asyncio.gather(*(api.cancel(member, order_id, items=one, wait=None) for _ in range(2)))
    # One is refused while the other runs, or runs after it: never more refunded than was paid.
    assert sorted(r.status_code for r in racing) in ([202, 202], [202, 409]), [r.text for r in racing]
    cancelled = sum(r.status_code == 202 for r in racing)
    assert await eventually(lambda: refunded(api, member, order_id), {"PG": 1_000 * cancelled})
