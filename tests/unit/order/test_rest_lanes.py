"""The fast lanes answer the hot requests themselves, exactly as the routes do, and decline the others."""

from __future__ import annotations

import httpx
from starlette.requests import Request

from market.order.adapters.rest_lanes import register
from market.web.auth import Auth
from market.web.lanes import FastLanes
from tests.unit.order.fakes import World
from tests.unit.order.rest_kit import ALICE, LINE, PG, SETTINGS, app_of, post_order, settle


def client(world: World, laned: bool) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app_of(world, laned=laned))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def lane_request(method: str, path: str, body: bytes, **headers: str) -> Request:
    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {"type": "http", "method": method, "path": path, "headers": raw, "query_string": b""}
    return Request({**scope, "path_params": {}}, receive)


async def test_a_valid_placement_is_answered_by_the_lane_and_any_other_is_declined(world: World) -> None:
    lanes = FastLanes()
    register(world.service, Auth(SETTINGS), lanes)
    hit = lanes.match("POST", "/api/v1/orders")
    assert hit is not None and lanes.match("POST", "/api/v1/orders/ord_1/cancel") is None
    handler = hit[0]
    good = b'{"items": [{"product_id": "prd_a", "quantity": 1}], "payments": [{"method": "PG", "amount": 5000, "payment_key": "pk_test_ok"}]}'  # fmt: skip
    headers = {**ALICE, "Idempotency-Key": "k1", "Content-Type": "application/json"}
    answered = await handler(lane_request("POST", "/api/v1/orders", good, **headers))
    assert answered is not None and answered.status_code == 201
    assert len(world.state.orders) == 1
    declined = [
        ({**headers, "Idempotency-Key": "k2"}, b'{"items": []'),  # not JSON
        ({**headers, "Idempotency-Key": "k3"}, b'{"items": [], "payments": [], "x": 1}'),  # not an OrderIn
        ({**headers, "Idempotency-Key": ""}, good),  # no key
        ({**headers, "Idempotency-Key": "k4", "Authorization": "Bearer nope"}, good),  # bad token
        ({**headers, "Idempotency-Key": "k5", "Content-Type": "text/plain"}, good),
    ]
    for bad_headers, body in declined:
        assert await handler(lane_request("POST", "/api/v1/orders", body, **bad_headers)) is None
    assert len(world.state.orders) == 1  # a declined request did nothing


async def test_an_order_read_is_the_same_through_the_lane_and_the_route(world: World) -> None:
    async with client(world, laned=True) as laned, client(world, laned=False) as plain:
        placed = await post_order(laned, {"items": [LINE], "payments": [PG]})
        assert placed.status_code == 201
        await settle(world, "pay")
        path = placed.headers["location"]
        for headers in ({}, {"Prefer": "wait=2"}):
            a = await laned.get(path, headers={**ALICE, **headers})
            b = await plain.get(path, headers={**ALICE, **headers})
            assert (a.status_code, a.content) == (b.status_code, b.content) == (200, a.content)
            assert a.json()["status"] == "PAID"
            for name in ("content-type", "preference-applied"):
                assert a.headers.get(name) == b.headers.get(name)
        for bad in ({}, {"Authorization": "Bearer nope"}):
            a, b = await laned.get(path, headers=bad), await plain.get(path, headers=bad)
            assert (a.status_code, a.json()) == (b.status_code, b.json()) == (401, a.json())
        a = await laned.get("/api/v1/orders/" + "x" * 65, headers=ALICE)
        b = await plain.get("/api/v1/orders/" + "x" * 65, headers=ALICE)
        assert (a.status_code, a.json()) == (b.status_code, b.json()) == (422, a.json())
