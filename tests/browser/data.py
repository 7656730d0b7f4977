"""The data a browser scenario starts from, made through the public API (as the end-to-end suite does)."""

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
    password: str
    token: str


@dataclass
class Shop:
    http: httpx.Client
    admin: dict[str, str]

    @classmethod
    def of(cls, http: httpx.Client, email: str, password: str) -> Shop:
        return cls(http, {"Authorization": f"Bearer {cls.login(http, email, password)}"})

    @staticmethod
    def login(http: httpx.Client, email: str, password: str) -> str:
        r = http.post("/api/v1/auth/token", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post(f"/api/v1{path}", headers=self.admin, json=body)
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    def product(self, name: str, price: int, stock: int = 50) -> dict[str, Any]:
        """A product on sale, its name made unique (a deployment may already sell one of that name)."""
        seller = self.post("/admin/sellers", {"name": "Seoul Goods"})
        unique = f"{name} {uuid.uuid4().hex[:4]}"
        body = {"seller_id": seller["id"], "name": unique, "price": price, "stock": stock}
        return self.post("/admin/products", body)

    def member(self, points: int = 0, coupon_off: int = 0) -> Member:
        email, password = f"m-{uuid.uuid4().hex[:10]}@market.test", "pass-word-1"
        r = self.http.post("/api/v1/members", json={"email": email, "name": "Kim", "password": password})
        assert r.status_code == 201, r.text
        member_id = r.json()["id"]
        if points:
            self.post(f"/admin/members/{member_id}/points", {"amount": points, "reason": "welcome"})
        if coupon_off:
            now = datetime.now(UTC)
            coupon = self.post("/admin/coupons", {
                "name": f"{coupon_off} won off", "discount_type": "FIXED", "discount_value": coupon_off,
                "max_discount": None, "min_order_amount": 0, "valid_from": (now - timedelta(days=1)).isoformat(),
                "valid_until": (now + timedelta(days=30)).isoformat(),
            })  # fmt: skip
            self.post(f"/admin/coupons/{coupon['id']}/issue", {"member_id": member_id})
        return Member(member_id, email, password, self.login(self.http, email, password))

    def offers(self, path: str, method: str, field: str | None = None) -> bool:
        """Whether the server's API document has this operation (and this field in its JSON body)."""
        document = self.http.get("/openapi.json").json()
        operation = document["paths"].get(path, {}).get(method)
        if operation is None or field is None:
            return operation is not None
        body = (
            operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        )
        refs = [body.get("$ref", "")] + [s.get("$ref", "") for s in body.get("anyOf", [])]
        schemas = document["components"]["schemas"]
        return any(
            field in schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}) for ref in refs if ref
        )
