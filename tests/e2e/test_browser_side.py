"""What the browser's pages stand on, in either mode (through the gateway in the distributed one): the pages
and the API reference from the platform's own files, the whole API's document, the checkout's preview, and
the platform status of every declared replica."""

from __future__ import annotations

import asyncio

import httpx

from market import platform
from tests.e2e.client import Api, line, pg


async def test_the_pages_and_the_api_reference_are_served_by_the_platform(http: httpx.AsyncClient) -> None:
    for page in ("/shop/", "/console/"):
        r = await http.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), page
    for asset in (
        "/shop/app.js",
        "/console/app.js",
        "/assets/lib.js",
        "/assets/swagger-ui/swagger-ui-bundle.js",
    ):
        assert (await http.get(asset)).status_code == 200, asset
    docs = await http.get("/docs")
    assert docs.status_code == 200 and "/assets/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert (await http.get("/redoc")).status_code == 200
    document = (await http.get("/openapi.json")).json()  # every service's routes, whichever serves it
    for path in ("/api/v1/orders/preview", "/api/v1/products", "/api/v1/auth/token", "/api/v1/payments"):
        assert path in document["paths"], path
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_a_preview_answers_the_rules_verdict_and_places_nothing(api: Api) -> None:
    product = await api.product(price=8_000, stock=5)
    member = await api.member(points=1_000)
    body = {"items": [line(product, 2)], "payments": [pg(15_000), {"method": "POINT", "amount": 1_000}]}
    ok = await api.http.post("/api/v1/orders/preview", headers=member.headers, json=body)
    assert ok.status_code == 200, ok.text
    assert ok.json()["total_amount"] == 16_000
    body["payments"][1]["amount"] = 2_000
    refused = await api.http.post("/api/v1/orders/preview", headers=member.headers, json=body)
    assert (refused.status_code, refused.json()["code"]) == (422, "AMOUNT_MISMATCH")
    assert (await api.get(member, "/orders")).json()["items"] == []
    assert (await api.http.get(f"/api/v1/products/{product['id']}")).json()["stock"] == 5


async def test_the_platform_status_shows_every_declared_service_ready(api: Api) -> None:
    status: dict = {}
    for _ in range(40):  # the reconciler's first run, the first gauges
        status = (await api.http.get("/api/v1/admin/platform", headers=api.admin)).json()
        if status["reconciler"] is not None:
            break
        await asyncio.sleep(0.25)
    assert [s["name"] for s in status["services"]] == [s.name for s in platform.SERVICES]
    for service in status["services"]:
        assert service["replicas"] and all(r["ready"] for r in service["replicas"]), service
    assert status["reconciler"] is not None and "PROCESSING" in status["reconciler"]["in_flight"]
