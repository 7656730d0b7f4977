"""The run's own data, made through the admin API: a seller, products with a huge stock, a pool of
members (signed up and logged in) with points, and a pool of single-use coupons per member."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import aiohttp
import orjson

from market_bench.plans import MIX, Product, Shopper

PRICES = (3_000, 7_500, 12_000, 25_000, 49_000)
STOCK = 10_000_000
POINTS = 1_000_000_000  # far more than any run spends, so a POINT order never runs short
DISCOUNT = 1_000
MAX_COUPONS, MAX_COUPONS_EACH = 2_000, 20
PASSWORD = "bench-pass-word"
CONCURRENCY = 8  # sign-up and login hash with argon2 on the server: a few at a time is as fast as many


class PrepareError(RuntimeError):
    """The admin API refused something the run needs (wrong admin login, a target that is not `market`)."""


async def call(
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    expect: int = 200,
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = orjson.dumps(body) if body is not None else None
    async with http.request(method, f"/api/v1{path}", data=data, headers=headers) as r:
        content = await r.read()
        if r.status != expect:
            raise PrepareError(
                f"{method} {path} answered {r.status}: {content[:300].decode(errors='replace')}"
            )
        result: dict[str, Any] = orjson.loads(content)
        return result


async def login(http: aiohttp.ClientSession, email: str, password: str) -> str:
    return str(
        (await call(http, "POST", "/auth/token", {"email": email, "password": password}))["access_token"]
    )


async def catalog(http: aiohttp.ClientSession, admin: str) -> list[Product]:
    seller = await call(http, "POST", "/admin/sellers", {"name": "Bench Goods"}, admin, 201)
    products = []
    for i, price in enumerate(PRICES):
        body = {"seller_id": seller["id"], "name": f"Bench item {i + 1}", "price": price, "stock": STOCK}
        p = await call(http, "POST", "/admin/products", body, admin, 201)
        products.append(Product(p["id"], price))
    return products


async def coupon_definition(http: aiohttp.ClientSession, admin: str) -> str:
    now = datetime.now(UTC)
    body = {
        "name": "Bench 1,000 won off",
        "discount_type": "FIXED",
        "discount_value": DISCOUNT,
        "min_order_amount": 0,
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=7)).isoformat(),
    }
    return str((await call(http, "POST", "/admin/coupons", body, admin, 201))["id"])


async def shopper(
    http: aiohttp.ClientSession, admin: str, run: str, n: int, coupon: str, coupons: int
) -> Shopper:
    email = f"bench-{run}-{n}@market.test"
    member = await call(
        http, "POST", "/members", {"email": email, "name": f"Bench {n}", "password": PASSWORD}, expect=201
    )
    await call(
        http, "POST", f"/admin/members/{member['id']}/points", {"amount": POINTS, "reason": "bench"}, admin
    )
    issued = [
        await call(http, "POST", f"/admin/coupons/{coupon}/issue", {"member_id": member["id"]}, admin, 201)
        for _ in range(coupons)
    ]
    return Shopper(member["id"], await login(http, email, PASSWORD), [c["id"] for c in issued])


def coupons_per_member(orders_expected: int, members: int) -> int:
    """Enough coupons for the coupon share of the orders a run expects: at least one each, at most
    MAX_COUPONS_EACH, and about MAX_COUPONS in all (each one is an admin call before the run)."""
    share = MIX["PG+POINT+COUPON"] / sum(MIX.values())
    wanted = min(int(orders_expected * share), MAX_COUPONS)
    return max(1, min(MAX_COUPONS_EACH, -(-wanted // max(1, members))))


async def bounded(tasks: Sequence[Callable[[], Awaitable[Shopper]]], limit: int) -> list[Shopper]:
    gate = asyncio.Semaphore(limit)

    async def one(task: Callable[[], Awaitable[Shopper]]) -> Shopper:
        async with gate:
            return await task()

    return list(await asyncio.gather(*(one(t) for t in tasks)))


async def prepare(
    http: aiohttp.ClientSession, admin_email: str, admin_password: str, members: int, coupons_each: int
) -> tuple[list[Product], list[Shopper]]:
    """Products and a pool of `members` logged-in shoppers, each with points and `coupons_each` coupons."""
    admin = await login(http, admin_email, admin_password)
    products = await catalog(http, admin)
    coupon = await coupon_definition(http, admin)
    run = uuid.uuid4().hex[:8]
    tasks = [partial(shopper, http, admin, run, n, coupon, coupons_each) for n in range(members)]
    return products, await bounded(tasks, CONCURRENCY)
