"""The payment REST API over the real service: field names of SPEC §5, auth, problems."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from market.payment.adapters.rest import router
from market.web.app import build_app
from market.web.auth import ALGORITHM, Auth, TokenSettings
from tests.openapi_conformance import conforming
from tests.unit.payment.conftest import START, World, pg

SETTINGS = TokenSettings(secret="payment-rest-test-secret-of-32-bytes!!")


def bearer(member_id: str, role: str = "member") -> dict[str, str]:
    claims = {
        "sub": member_id,
        "role": role,
        "iss": SETTINGS.issuer,
        "aud": SETTINGS.audience,
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, SETTINGS.secret, algorithm=ALGORITHM)}"}


ADMIN = bearer("mem_admin", "admin")


@pytest.fixture
async def http(world: World) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app("test", [router(world.service, Auth(SETTINGS))], {})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://payment.test",
        event_hooks={"response": [conforming(app.openapi())]},
    ) as client:
        yield client


def definition(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Welcome",
        "discount_type": "FIXED",
        "discount_value": 3_000,
        "max_discount": None,
        "min_order_amount": 0,
        "valid_from": (START - timedelta(days=1)).isoformat(),
        "valid_until": (START + timedelta(days=30)).isoformat(),
        **changes,
    }


async def test_admin_defines_and_issues_a_coupon_the_member_then_lists(
    http: httpx.AsyncClient, world: World
) -> None:
    member = world.member()
    d = await http.post(
        "/api/v1/admin/coupons", headers=ADMIN, json=definition(valid_from="2026-02-28T09:00:00+09:00")
    )
    assert d.status_code == 201, d.text
    assert d.json() == {
        "id": d.json()["id"],
        "name": "Welcome",
        "discount_type": "FIXED",
        "discount_value": 3_000,
        "max_discount": None,
        "min_order_amount": 0,
        "valid_from": "2026-02-28T00:00:00.000Z",
        "valid_until": "2026-03-31T09:00:00.000Z",
    }

    i = await http.post(
        f"/api/v1/admin/coupons/{d.json()['id']}/issue", headers=ADMIN, json={"member_id": member}
    )
    assert i.status_code == 201, i.text
    issued = i.json()
    assert {k: issued[k] for k in ("coupon_id", "member_id", "status", "name")} == {
        "coupon_id": d.json()["id"],
        "member_id": member,
        "status": "AVAILABLE",
        "name": "Welcome",
    }
    assert issued["id"].startswith("icp_")

    mine = await http.get("/api/v1/members/me/coupons", headers=bearer(member))
    assert mine.status_code == 200
    assert mine.json() == {"items": [issued], "next_cursor": None}


async def test_coupon_endpoints_are_for_admins_and_check_their_input(
    http: httpx.AsyncClient, world: World
) -> None:
    member = world.member()
    forbidden = await http.post("/api/v1/admin/coupons", headers=bearer(member), json=definition())
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "FORBIDDEN")
    not_yours = await http.post(
        "/api/v1/admin/coupons/cpn_any/issue", headers=bearer(member), json={"member_id": member}
    )
    assert (not_yours.status_code, not_yours.json()["code"]) == (403, "FORBIDDEN")
    assert (await http.post("/api/v1/admin/coupons", json=definition())).status_code == 401
    for bad in (
        definition(discount_value="5"),
        definition(discount_value=5.5),
        definition(extra=True),
        definition(valid_from="2026-03-01T00:00:00"),
        definition(discount_type="PERCENT", discount_value=150),
        definition(max_discount=1_000),
    ):
        r = await http.post("/api/v1/admin/coupons", headers=ADMIN, json=bad)
        assert (r.status_code, r.json()["code"]) == (422, "VALIDATION_ERROR"), bad
        assert r.headers["content-type"] == "application/problem+json"
    missing = await http.post(
        "/api/v1/admin/coupons/cpn_nothing/issue", headers=ADMIN, json={"member_id": member}
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")


async def test_payment_history_is_the_owners(http: httpx.AsyncClient, world: World) -> None:
    member, stranger = world.member(), world.member()
    placed = await world.place(member, 4_000, pg(4_000))

    own = await http.get(f"/api/v1/payments?order_id={placed.order_id}", headers=bearer(member))
    assert own.status_code == 200
    assert own.json() == {
        "items": [
            {
                "order_id": placed.order_id,
                "method": "PG",
                "amount": 4_000,
                "status": "APPROVED",
                "approved_at": "2026-03-01T09:00:00.000Z",
                "refunded_amount": 0,
                "refunded_at": None,
            }
        ],
        "next_cursor": None,
    }
    other = await http.get(f"/api/v1/payments?order_id={placed.order_id}", headers=bearer(stranger))
    assert (other.status_code, other.json()["code"]) == (404, "NOT_FOUND")
    admin = await http.get(f"/api/v1/payments?order_id={placed.order_id}", headers=ADMIN)
    assert len(admin.json()["items"]) == 1
    missing = await http.get("/api/v1/payments", headers=bearer(member))
    assert (missing.status_code, missing.json()["code"]) == (422, "VALIDATION_ERROR")
