"""The embedded app, as wired: a payment waiting on a slow PG does not hold up the orders behind it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from market.bootstrap.apps import embedded_app
from market.pg_sandbox import core as sandbox
from market.settings import Settings
from tests.asgi_app import started


async def test_ordinary_orders_settle_while_slow_pg_payments_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Slower than any wait below: an order queued behind a slow payment could not settle within it.
    monkeypatch.setattr(sandbox, "SLOW_SECONDS", 30.0)
    settings = Settings(data_dir=tmp_path, admin_email="ops@market.test", admin_password="ops-password-1")
    async with started(embedded_app(settings)) as client:

        async def token(email: str, password: str) -> dict[str, str]:
            r = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        admin = await token("ops@market.test", "ops-password-1")
        seller = (
            await client.post("/api/v1/admin/sellers", headers=admin, json={"name": "Seoul Goods"})
        ).json()
        product = (
            await client.post(
                "/api/v1/admin/products",
                headers=admin,
                json={"seller_id": seller["id"], "name": "Tumbler", "price": 2_000, "stock": 100},
            )
        ).json()
        await client.post(
            "/api/v1/members", json={"email": "k@market.test", "name": "Kim", "password": "pass-word-1"}
        )
        member = await token("k@market.test", "pass-word-1")

        async def order(card: str, wait: int | None) -> dict[str, Any]:
            headers = {**member, "Idempotency-Key": uuid.uuid4().hex}
            if wait:
                headers["Prefer"] = f"wait={wait}"
            body = {
                "items": [{"product_id": product["id"], "quantity": 1}],
                "payments": [{"method": "PG", "amount": 2_000, "payment_key": card}],
            }
            r = await client.post("/api/v1/orders", headers=headers, json=body)
            assert r.status_code == 201, r.text
            return dict(r.json())

        # 16 slow payments over the bus's 16 partitions: most partitions hold one.
        slow = [(await order("pk_test_slow", wait=None))["id"] for _ in range(16)]
        ordinary = [await order("pk_test_ok", wait=5) for _ in range(8)]
        assert [o["status"] for o in ordinary] == ["PAID"] * 8
        still = [(await client.get(f"/api/v1/orders/{i}", headers=member)).json()["status"] for i in slow]
        assert still == ["PENDING"] * 16
