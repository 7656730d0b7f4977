"""The first admin (from MARKET_ADMIN_EMAIL / _PASSWORD, or demo values with a warning) and demo data."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from market.kernel.clock import Clock
from market.settings import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, Settings

log = logging.getLogger("market")

PRODUCTS = [
    (
        "Seoul Goods",
        [
            ("Stainless tumbler", 12_000, 100),
            ("Linen tote bag", 25_000, 50),
            ("Hand-drip coffee set", 48_000, 20),
        ],
    ),
    (
        "Busan Crafts",
        [("Celadon mug", 18_000, 40), ("Hanji notebook", 6_500, 200), ("Bojagi gift wrap", 9_900, 0)],
    ),
]
MEMBERS = [
    ("alice@market.test", "Alice Kim", "alice-demo-password", 5_000),
    ("bob@market.test", "Bob Park", "bob-demo-password", 20_000),
]


async def prepare(services: Any, settings: Settings, clock: Clock) -> str:
    """Create the admin if missing, and on a first start (empty catalog) the demo data; what to print."""
    lines = []
    email, password = settings.admin_email, settings.admin_password
    if not email or not password:
        email, password = DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
        log.warning("MARKET_ADMIN_EMAIL / MARKET_ADMIN_PASSWORD are unset: using the demo admin %s", email)
        lines.append(
            f"WARNING: demo admin in use ({email} / {password}); set MARKET_ADMIN_EMAIL and "
            "MARKET_ADMIN_PASSWORD for anything but a demo"
        )
    await services.member.ensure_admin(email, password)
    if settings.demo_data and not await services.product.list_products(limit=1):
        lines += await _seed(services, clock.now())
    return "\n".join(lines) if lines else "market: admin present, catalog not empty: no demo data added"


async def _seed(services: Any, now: datetime) -> list[str]:
    lines = ["demo data created:"]
    for seller_name, products in PRODUCTS:
        seller = await services.product.create_seller(seller_name)
        for name, price, stock in products:
            p = await services.product.create_product(seller.id, name, price, stock)
            lines.append(f"  product {p.id}  {name} ({seller_name}), {price} won, stock {stock}")
    fixed = await services.payment.define_coupon(
        name="3,000 won off",
        discount_type="FIXED",
        discount_value=3_000,
        max_discount=None,
        min_order_amount=10_000,
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=90),
    )
    percent = await services.payment.define_coupon(
        name="10% off (up to 5,000 won)",
        discount_type="PERCENT",
        discount_value=10,
        max_discount=5_000,
        min_order_amount=20_000,
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=90),
    )
    for email, name, password, points in MEMBERS:
        member = await services.member.sign_up(email, name, password)
        await services.member.grant_points(member.id, points, "welcome points")
        for definition in (fixed, percent):
            await services.payment.issue_coupon(definition.id, member.id)
        lines.append(
            f"  member {email} / {password}: {points} points, coupons '{fixed.name}', '{percent.name}'"
        )
    return lines
