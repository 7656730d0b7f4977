"""Bad input answers a clear problem+json 4xx with a stable code — never a 500 — and writes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.client import Api, Member, line, pg


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code and body["status"] == status and body["title"] and body["detail"]
    return dict(body)


async def raw_order(api: Api, member: Member, body: Any, content: bytes | None = None) -> httpx.Response:
    headers = {**member.headers, "Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}
    if content is not None:
        return await api.http.post("/api/v1/orders", headers=headers, content=content)
    return await api.http.post("/api/v1/orders", headers=headers, json=body)


async def test_malformed_bodies_are_422(api: Api) -> None:
    product = await api.product()
    member = await api.member()
    ok_items = [line(product)]
    for content in (b"{", b"null", b"[]", b'"text"', b'{"items": [}'):
        assert_problem(await raw_order(api, member, None, content), 422, "VALIDATION_ERROR")
    for body in (
        {"items": ok_items},
        {"items": [{"product_id": product["id"], "quantity": "2"}], "payments": [pg(10_000)]},
        {"items": ok_items, "payments": [{"method": "PG", "amount": 1.5, "payment_key": "pk"}]},
        {"items": ok_items, "payments": [{"method": "CASH", "amount": 10_000}]},
        {"items": ok_items, "payments": [pg(10**30)]},
        {"items": [{"product_id": product["id"], "quantity": 10**40}], "payments": [pg(10_000)]},
        {"items": ok_items, "payments": [pg(-10_000)]},
        {"items": ok_items, "payments": [pg(10_000)], "extra": True},
    ):
        assert_problem(await raw_order(api, member, body), 422, "VALIDATION_ERROR")
    assert (await api.get(member, "/orders")).json()["items"] == []


async def test_business_rule_codes(api: Api) -> None:
    product = await api.product(price=5_000, stock=3)
    stopped = await api.product(price=5_000)
    patched = await api.http.patch(
        f"/api/v1/admin/products/{stopped['id']}", headers=api.admin, json={"status": "STOPPED"}
    )
    assert patched.status_code == 200, patched.text
    member = await api.member(points=1_000)
    many = [{"product_id": f"prd_{i}", "quantity": 1} for i in range(51)]
    cases = [
        (many, [pg(5_000)], 422, "TOO_MANY_ITEMS"),
        ([line(product, 1000)], [pg(5_000)], 422, "INVALID_QUANTITY"),
        ([line(product, 0)], [pg(5_000)], 422, "INVALID_QUANTITY"),
        ([line(product), line(product)], [pg(10_000)], 422, "DUPLICATE_PRODUCT"),
        ([line(product)], [pg(2_500), pg(2_500)], 422, "DUPLICATE_PAYMENT_METHOD"),
        (
            [line(product)],
            [{"method": "COUPON", "coupon_id": "icp_x", "amount": 5_000}],
            422,
            "COUPON_STANDALONE_NOT_ALLOWED",
        ),
        (
            [line(product)],
            [{"method": "BNPL", "amount": 4_000, "payment_key": "b"}, pg(1_000)],
            422,
            "BNPL_COMPOSITE_NOT_ALLOWED",
        ),
        ([line(product)], [{"method": "BNPL", "amount": 5_000, "payment_key": "b"}], 422, "BNPL_MIN_AMOUNT"),
        (
            [line(product)],
            [
                {"method": "POINT", "amount": 1_000},
                {"method": "COUPON", "coupon_id": "icp_x", "amount": 4_000},
            ],
            422,
            "COMPOSITE_REQUIRES_PG",
        ),
        ([{"product_id": "prd_missing", "quantity": 1}], [pg(5_000)], 422, "PRODUCT_NOT_FOUND"),
        ([line(stopped)], [pg(5_000)], 422, "PRODUCT_NOT_ON_SALE"),
        ([line(product)], [pg(4_000)], 422, "AMOUNT_MISMATCH"),
        (
            [line(product)],
            [pg(4_000), {"method": "COUPON", "coupon_id": "icp_nope", "amount": 1_000}],
            422,
            "COUPON_NOT_APPLICABLE",
        ),
        ([line(product)], [pg(3_000), {"method": "POINT", "amount": 2_000}], 422, "INSUFFICIENT_POINTS"),
        ([line(product, 4)], [pg(20_000)], 409, "OUT_OF_STOCK"),
    ]
    for items, payments, status, code in cases:
        body = assert_problem(
            await raw_order(api, member, {"items": items, "payments": payments}), status, code
        )
        if code == "AMOUNT_MISMATCH":
            assert body["expected_total"] == 5_000
    assert (await api.get(member, "/orders")).json()["items"] == []
    assert (await api.http.get(f"/api/v1/products/{product['id']}")).json()["stock"] == 3
    assert (await api.get(member, "/members/me")).json()["point_balance"] == 1_000


async def test_auth_is_required_and_admin_is_enforced(api: Api) -> None:
    member = await api.member()
    assert_problem(await api.http.get("/api/v1/orders"), 401, "UNAUTHORIZED")
    assert_problem(
        await api.http.get("/api/v1/orders", headers={"Authorization": "Bearer nope"}), 401, "UNAUTHORIZED"
    )
    assert_problem(
        await api.http.post("/api/v1/admin/sellers", headers=member.headers, json={"name": "x"}),
        403,
        "FORBIDDEN",
    )
    bad_login = await api.http.post(
        "/api/v1/auth/token", json={"email": member.email, "password": "wrong-pass"}
    )
    assert_problem(bad_login, 401, "UNAUTHORIZED")


async def test_logins_are_throttled_per_email_on_every_replica(api: Api) -> None:
    """SPEC §10.5: after 5 failures for an email, even the right password answers 429 for a while (the
    count is shared: in the distributed mode the gateway spreads these over the member replicas)."""
    member = await api.member()
    for _ in range(5):
        r = await api.http.post("/api/v1/auth/token", json={"email": member.email, "password": "wrong-pass"})
        assert_problem(r, 401, "UNAUTHORIZED")
    right = await api.http.post("/api/v1/auth/token", json={"email": member.email, "password": "pass-word-1"})
    assert_problem(right, 429, "RATE_LIMITED")
    assert 1 <= int(right.headers["Retry-After"]) <= 900
    assert (await api.get(member, "/members/me")).status_code == 200  # its tokens still work


async def test_another_members_objects_are_404(api: Api) -> None:
    product = await api.product(price=2_000)
    alice, bob = await api.member(), await api.member()
    order = (await api.order(alice, [line(product)], [pg(2_000)])).json()
    assert_problem(await api.get(bob, f"/orders/{order['id']}"), 404, "NOT_FOUND")
    assert_problem(await api.cancel(bob, order["id"]), 404, "NOT_FOUND")
    assert_problem(await api.get(bob, f"/payments?order_id={order['id']}"), 404, "NOT_FOUND")
    assert (await api.get(alice, f"/orders/{order['id']}")).status_code == 200


@pytest.mark.parametrize("key", ["", "k" * 256])
async def test_idempotency_key_is_required_and_bounded(api: Api, key: str) -> None:
    product = await api.product(price=1_000)
    member = await api.member()
    headers = {**member.headers, **({"Idempotency-Key": key} if key else {})}
    r = await api.http.post(
        "/api/v1/orders", headers=headers, json={"items": [line(product)], "payments": [pg(1_000)]}
    )
    assert_problem(r, 422, "VALIDATION_ERROR")


async def test_cancel_rules(api: Api) -> None:
    product = await api.product(price=1_000)
    member = await api.member()
    failed = (await api.order(member, [line(product)], [pg(1_000, "pk_test_decline")])).json()
    assert_problem(await api.cancel(member, failed["id"]), 409, "ORDER_NOT_CANCELLABLE")
    paid = (await api.order(member, [line(product)], [pg(1_000)])).json()
    assert (await api.cancel(member, paid["id"])).json()["status"] == "CANCELLED"
    assert_problem(await api.cancel(member, paid["id"]), 409, "ORDER_NOT_CANCELLABLE")
