"""Every sandbox outcome, seen from the client: declines and timeouts fail cleanly and give everything back."""

from __future__ import annotations

import pytest

from tests.e2e.client import Api, line, pg


async def test_pg_decline_restores_points_and_coupon_and_stock(api: Api) -> None:
    product = await api.product(price=10_000, stock=5)
    member = await api.member(points=4_000)
    coupon = await api.coupon(member, discount_value=1_000)
    r = await api.order(
        member,
        [line(product)],
        [
            pg(6_000, "pk_test_decline"),
            {"method": "POINT", "amount": 3_000},
            {"method": "COUPON", "coupon_id": coupon["id"], "amount": 1_000},
        ],
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "FAILED"
    assert order["failure_reason"] == "PG_DECLINED"
    assert (await api.get(member, "/members/me")).json()["point_balance"] == 4_000
    assert [c["status"] for c in (await api.get(member, "/members/me/coupons")).json()["items"]] == [
        "AVAILABLE"
    ]
    # OrderFailed releases the stock asynchronously; the audit after this test checks it settled.
    detail = (await api.get(member, f"/orders/{order['id']}")).json()
    assert "PAYMENT_FAILED" in [t["event"] for t in detail["timeline"]]


@pytest.mark.parametrize(
    ("key", "status", "reason"),
    [
        ("pk_test_timeout_after_charge", "PAID", None),
        ("pk_test_timeout", "FAILED", "PG_TIMEOUT"),
        ("pk_test_5xx_once", "PAID", None),
    ],
)
async def test_ambiguous_and_flaky_pg_answers(api: Api, key: str, status: str, reason: str | None) -> None:
    product = await api.product(price=7_000)
    member = await api.member(points=1_000)
    r = await api.order(
        member, [line(product)], [pg(6_000, key), {"method": "POINT", "amount": 1_000}], wait=10
    )
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["failure_reason"]) == (status, reason)
    expected_points = 0 if status == "PAID" else 1_000
    assert (await api.get(member, "/members/me")).json()["point_balance"] == expected_points


async def test_bnpl_rejected_fails_the_order(api: Api) -> None:
    product = await api.product(price=30_000)
    member = await api.member()
    r = await api.order(
        member, [line(product)], [{"method": "BNPL", "amount": 30_000, "payment_key": "bnpl_test_reject"}]
    )
    assert (r.json()["status"], r.json()["failure_reason"]) == ("FAILED", "BNPL_REJECTED")
