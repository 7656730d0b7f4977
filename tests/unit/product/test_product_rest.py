"""The product REST API over HTTP (in-process ASGI), on the in-memory fakes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from market.product.adapters.rest import router
from market.product.use_cases import ProductService
from market.web.app import build_app
from market.web.auth import ALGORITHM, Auth, TokenSettings
from tests.openapi_conformance import conforming

SETTINGS = TokenSettings(secret="unit-test-secret-of-at-least-32-bytes!")


def bearer(role: str) -> dict[str, str]:
    now = int(time.time())
    claims = {
        "iss": SETTINGS.issuer,
        "aud": SETTINGS.audience,
        "sub": f"mem_{role}",
        "iat": now,
        "exp": now + 3600,  # minted at import: valid for the whole run of the suite
    }
    return {
        "Authorization": "Bearer "
        + jwt.encode({**claims, "role": role}, SETTINGS.secret, algorithm=ALGORITHM)
    }


ADMIN, MEMBER = bearer("admin"), bearer("member")


@pytest.fixture
async def api(products: ProductService) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app("test", [router(products, Auth(SETTINGS))], {})
    hooks = {"response": [conforming(app.openapi())]}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://test/api/v1", event_hooks=hooks
    ) as client:
        yield client


async def add_product(api: httpx.AsyncClient, name: str = "Mug", stock: int = 5) -> dict[str, Any]:
    seller = await api.post("/admin/sellers", json={"name": "Cafe Seoul"}, headers=ADMIN)
    assert seller.status_code == 201 and seller.json()["name"] == "Cafe Seoul"
    body = {"seller_id": seller.json()["id"], "name": name, "price": 12_000, "stock": stock}
    created = await api.post("/admin/products", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/api/v1/products/{created.json()['id']}"
    return dict(created.json())


async def test_an_admin_adds_a_product_that_anyone_can_read(api: httpx.AsyncClient) -> None:
    product = await add_product(api)

    one = await api.get(f"/products/{product['id']}")
    listed = await api.get("/products")

    assert product == {
        "id": product["id"],
        "seller_id": product["seller_id"],
        "name": "Mug",
        "price": 12_000,
        "stock": 5,
        "status": "ON_SALE",
    }
    assert one.json() == product
    assert listed.json() == {"items": [product], "next_cursor": None}


async def test_the_catalog_pages_with_a_cursor(api: httpx.AsyncClient) -> None:
    names = [(await add_product(api, name))["name"] for name in ("Mug", "Tea", "Cup")]

    first = await api.get("/products", params={"limit": 2})
    rest = await api.get("/products", params={"limit": 2, "cursor": first.json()["next_cursor"]})

    assert [p["name"] for p in first.json()["items"] + rest.json()["items"]] == names[::-1]
    assert rest.json()["next_cursor"] is None


async def test_an_admin_changes_stock_and_status(api: httpx.AsyncClient) -> None:
    product = await add_product(api)

    changed = await api.patch(
        f"/admin/products/{product['id']}", json={"stock": 9, "status": "STOPPED"}, headers=ADMIN
    )

    assert changed.status_code == 200
    assert (changed.json()["stock"], changed.json()["status"], changed.json()["price"]) == (
        9,
        "STOPPED",
        12_000,
    )


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"price": "12000"},
        {"price": 0},
        {"stock": 1.5},
        {"stock": -1},
        {"status": "GONE"},
        {"colour": "red"},
    ],
)
async def test_a_malformed_change_answers_422(api: httpx.AsyncClient, change: dict[str, Any]) -> None:
    product = await add_product(api)

    answer = await api.patch(f"/admin/products/{product['id']}", json=change, headers=ADMIN)

    assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"


async def test_a_product_of_an_unknown_seller_answers_422(api: httpx.AsyncClient) -> None:
    body = {"seller_id": "sel_nobody", "name": "Mug", "price": 1, "stock": 1}

    answer = await api.post("/admin/products", json=body, headers=ADMIN)

    assert answer.status_code == 422 and answer.json()["code"] == "SELLER_NOT_FOUND"


async def test_catalog_management_is_for_admins_only(api: httpx.AsyncClient) -> None:
    product = await add_product(api)

    as_member = await api.patch(f"/admin/products/{product['id']}", json={"stock": 0}, headers=MEMBER)
    anonymous = await api.post("/admin/sellers", json={"name": "Me"})

    assert as_member.status_code == 403 and as_member.json()["code"] == "FORBIDDEN"
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHORIZED"


async def test_an_unknown_product_answers_404(api: httpx.AsyncClient) -> None:
    read = await api.get("/products/prd_nobody")
    change = await api.patch("/admin/products/prd_nobody", json={"price": 5}, headers=ADMIN)

    assert read.status_code == 404 and read.json()["code"] == "NOT_FOUND"
    assert change.status_code == 404
