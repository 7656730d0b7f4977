"""A thin client of the public REST API for the suite: it builds its own data through the admin API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx


@dataclass
class Member:
    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    def __init__(self, http: httpx.AsyncClient, admin_token: str) -> None:
        self.http = http
        self.admin = {"Authorization": f"Bearer {admin_token}"}

    @staticmethod
    async def login(http: httpx.AsyncClient, email: str, password: str) -> str:
        r = await http.post("/api/v1/auth/token", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    async def member(self, points: int = 0) -> Member:
        email = f"m-{uuid.uuid4().hex[:12]}@market.test"
        r = await self.http.post(
            "/api/v1/members", json={"email": email, "name": "Kim", "password": "pass-word-1"}
        )
        assert r.status_code == 201, r.text
        member_id = r.json()["id"]
        if points:
            g = await self.http.post(
                f"/api/v1/admin/members/{member_id}/points",
                headers=self.admin,
                json={"amount": points, "reason": "welcome"},
            )
            assert g.status_code == 200, g.text
        return Member(member_id, email, await self.login(self.http, email, "pass-word-1"))

    async def product(self, price: int = 10_000, stock: int = 100) -> dict[str, Any]:
        s = await self.http.post("/api/v1/admin/sellers", headers=self.admin, json={"name": "Seoul Goods"})
        assert s.status_code == 201, s.text
        p = await self.http.post(
            "/api/v1/admin/products",
            headers=self.admin,
            json={"seller_id": s.json()["id"], "name": "Tumbler", "price": price, "stock": stock},
        )
        assert p.status_code == 201, p.text
        return dict(p.json())

    async def coupon(self, member: Member, **definition: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        body = {
            "name": "Welcome",
            "discount_type": "FIXED",
            "discount_value": 3000,
            "max_discount": None,
            "min_order_amount": 0,
            "valid_from": (now - timedelta(days=1)).isoformat(),
            "valid_until": (now + timedelta(days=30)).isoformat(),
            **definition,
        }
        d = await self.http.post("/api/v1/admin/coupons", headers=self.admin, json=body)
        assert d.status_code == 201, d.text
        i = await self.http.post(
            f"/api/v1/admin/coupons/{d.json()['id']}/issue", headers=self.admin, json={"member_id": member.id}
        )
        assert i.status_code == 201, i.text
        return dict(i.json())

    async def order(
        self,
        member: Member,
        items: list[dict[str, Any]],
        payments: list[dict[str, Any]],
        key: str | None = None,
        wait: int | None = 5,
    ) -> httpx.Response:
        headers = {**member.headers, "Idempotency-Key": key or uuid.uuid4().hex}
        if wait:
            headers["Prefer"] = f"wait={wait}"
        return await self.http.post(
            "/api/v1/orders", headers=headers, json={"items": items, "payments": payments}
        )

    async def get(self, member: Member, path: str) -> httpx.Response:
        return await self.http.get(f"/api/v1{path}", headers=member.headers)

    async def cancel(
        self,
        member: Member,
        order_id: str,
        key: str | None = None,
        wait: int | None = 5,
        items: list[dict[str, Any]] | None = None,
    ) -> httpx.Response:
        """Cancel the whole order, or with `items` those quantities of it (SPEC §10.3)."""
        headers = {**member.headers, "Idempotency-Key": key or uuid.uuid4().hex}
        if wait:
            headers["Prefer"] = f"wait={wait}"
        body = None if items is None else {"items": items}
        return await self.http.post(f"/api/v1/orders/{order_id}/cancel", headers=headers, json=body)


def pg(amount: int, key: str = "pk_test_ok") -> dict[str, Any]:
    return {"method": "PG", "amount": amount, "payment_key": key}


def line(product: dict[str, Any], quantity: int = 1) -> dict[str, Any]:
    return {"product_id": product["id"], "quantity": quantity}
