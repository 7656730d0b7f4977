"""The README walk-through: a PG + points + coupon order is PAID, then cancelled with every leg refunded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tests.e2e.client import Api, line, pg


async def test_composite_order_paid_then_cancelled_refunds_every_leg(api: Api) -> None:
    product = await api.product(price=12_000, stock=10)
    member = await api.member(points=5_000)
    coupon = await api.coupon(member, discount_value=3_000)

    r = await api.order(
        member,
        [line(product, 2)],
        [
            pg(24_000 - 3_000 - 2_000),
            {"method": "POINT", "amount": 2_000},
            {"method": "COUPON", "coupon_id": coupon["id"], "amount": 3_000},
        ],
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/api/v1/orders/{r.json()['id']}"
    order = r.json()
    assert order["status"] == "PAID"
    assert order["total_amount"] == 24_000
    assert order["items"] == [
        {
            "product_id": product["id"],
            "name": "Tumbler",
            "unit_price": 12_000,
            "quantity": 2,
            "line_amount": 24_000,
            "cancelled_quantity": 0,
        }
    ]
    assert {p["method"]: p["status"] for p in order["payments"]} == {
        "PG": "APPROVED",
        "POINT": "APPROVED",
        "COUPON": "APPROVED",
    }
    assert order["paid_at"] is not None

    me = (await api.get(member, "/members/me")).json()
    assert me["point_balance"] == 3_000
    coupons = (await api.get(member, "/members/me/coupons")).json()["items"]
    assert [c["status"] for c in coupons] == ["USED"]
    assert (await api.http.get(f"/api/v1/products/{product['id']}")).json()["stock"] == 8

    c = await api.cancel(member, order["id"])
    assert c.status_code == 202, c.text
    assert c.json()["status"] == "CANCELLED"
    assert c.json()["cancelled_at"] is not None

    history = (await api.get(member, f"/payments?order_id={order['id']}")).json()["items"]
    assert sorted((h["method"], h["status"], h["refunded_amount"]) for h in history) == [
        ("COUPON", "REFUNDED", 3_000),
        ("PG", "REFUNDED", 19_000),
        ("POINT", "REFUNDED", 2_000),
    ]
    assert (await api.get(member, "/members/me")).json()["point_balance"] == 5_000
    coupons = (await api.get(member, "/members/me/coupons")).json()["items"]
    assert [c["status"] for c in coupons] == ["AVAILABLE"]
    # The product service gives the stock back on OrderCancelled, after the order is CANCELLED (SPEC §3).
    assert await eventually(lambda: stock_of(api, product["id"]), 10)

    ledger = (await api.get(member, "/members/me/points")).json()["items"]
    assert [e["delta"] for e in ledger] == [2_000, -2_000, 5_000]
    timeline = [t["event"] for t in (await api.get(member, f"/orders/{order['id']}")).json()["timeline"]]
    assert timeline[0] == "ORDER_PLACED" and timeline[-1] == "ORDER_CANCELLED"


async def stock_of(api: Api, product_id: str) -> int:
    return int((await api.http.get(f"/api/v1/products/{product_id}")).json()["stock"])


async def eventually(read: Callable[[], Awaitable[object]], expected: object, seconds: float = 10) -> bool:
    """The value `read` gives reaches `expected` within `seconds` (effects that travel on events)."""
    for _ in range(int(seconds / 0.1)):
        if await read() == expected:
            return True
        await asyncio.sleep(0.1)
    return await read() == expected


async def test_single_method_orders_are_paid(api: Api) -> None:
    product = await api.product(price=15_000)
    member = await api.member(points=20_000)
    for payments in (
        [pg(15_000)],
        [{"method": "POINT", "amount": 15_000}],
        [{"method": "BNPL", "amount": 15_000, "payment_key": "bnpl_test_ok"}],
    ):
        r = await api.order(member, [line(product)], payments)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "PAID", (payments, r.json())


async def test_orders_list_is_newest_first_and_paged(api: Api) -> None:
    product = await api.product(price=1_000)
    member = await api.member()
    ids = [(await api.order(member, [line(product)], [pg(1_000)], wait=None)).json()["id"] for _ in range(3)]
    first = (await api.get(member, "/orders?limit=2")).json()
    assert [o["id"] for o in first["items"]] == ids[::-1][:2]
    rest = (await api.get(member, f"/orders?limit=2&cursor={first['next_cursor']}")).json()
    assert [o["id"] for o in rest["items"]] == [ids[0]] and rest["next_cursor"] is None


async def test_reading_an_order_with_prefer_wait_answers_once_it_settles(api: Api) -> None:
    product = await api.product(price=4_000)
    member = await api.member()
    placed = await api.order(member, [line(product)], [pg(4_000)], wait=None)
    assert placed.json()["status"] in ("PENDING", "PAID")
    r = await api.http.get(
        f"/api/v1/orders/{placed.json()['id']}", headers={**member.headers, "Prefer": "wait=5"}
    )
    assert r.status_code == 200 and r.json()["status"] == "PAID"
