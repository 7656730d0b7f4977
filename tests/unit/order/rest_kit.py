"""A tiny app around the order router, a client of it, and the payment service's side played by hand."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from fastapi import FastAPI

from market.order.adapters.rest import router
from market.web.app import build_app
from market.web.auth import ALGORITHM, Auth, TokenSettings
from tests.unit.order.fakes import World

SETTINGS = TokenSettings(secret="a-test-secret-that-is-long-enough-for-hs256")
LINE = {"product_id": "prd_a", "quantity": 1}
PG = {"method": "PG", "amount": 5_000, "payment_key": "pk_test_ok"}


def token(member_id: str, role: str = "member") -> dict[str, str]:
    claims = {
        "sub": member_id,
        "role": role,
        "iss": SETTINGS.issuer,
        "aud": SETTINGS.audience,
        "exp": int(time.time()) + 600,
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, SETTINGS.secret, algorithm=ALGORITHM)}"}


ALICE = token("mem_1")


def app_of(world: World) -> FastAPI:
    """The order routes on a tiny app, with the platform's problem+json answers and OpenAPI errors."""
    app = build_app("test", [router(world.service, Auth(SETTINGS))], {})
    return app


async def post_order(
    http: httpx.AsyncClient,
    body: Any = None,
    key: str | None = None,
    content: bytes | None = None,
    **headers: str,
) -> httpx.Response:
    all_headers = {
        **ALICE,
        "Idempotency-Key": key or uuid.uuid4().hex,
        "Content-Type": "application/json",
        **headers,
    }
    if content is not None:
        return await http.post("/api/v1/orders", headers=all_headers, content=content)
    return await http.post(
        "/api/v1/orders", headers=all_headers, json=body or {"items": [LINE], "payments": [PG]}
    )


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["code"] == code and body["status"] == status and body["detail"]
    return body


async def eventually(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition was not reached in 5 s")


async def settle(world: World, how: str, delay: float = 0.05) -> None:
    """Play the payment service: once an order exists, answer it (after `delay`)."""
    wanted = "CANCELLING" if how == "refund" else "PENDING"
    await eventually(lambda: any(o.status == wanted for o in world.state.orders.values()))
    await asyncio.sleep(delay)
    order = next(o for o in world.state.orders.values() if o.status == wanted)
    if how == "pay":
        await world.pay(order)
    elif how == "fail":
        await world.fail(order)
    else:
        await world.refund(order)
