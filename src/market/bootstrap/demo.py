"""The first admin (from MARKET_ADMIN_EMAIL / _PASSWORD, or the demo admin with a warning) and demo data.

The demo accounts' passwords are published (README), so they exist only where nobody else can reach them:
- demo data (the demo admin, the demo members, a catalog) only when asked for (MARKET_DEMO_DATA=true), or
  by default when `market serve` runs on a loopback address with no admin configured (with a warning);
- asked for on any other address, the server refuses to start;
- without demo data the demo accounts are retired (no sign-in, no admin role) — a configured admin takes
  over from the demo admin; on a non-loopback address with the demo admin still active and no admin
  configured to take over, the server refuses to start.
"""

from __future__ import annotations

import ipaddress
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


class UnsafeExposure(RuntimeError):
    """Demo accounts would be reachable from other machines: the server must not start."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def demo_wanted(settings: Settings) -> bool:
    """MARKET_DEMO_DATA if set; else only on loopback with no admin configured."""
    if settings.demo_data is not None:
        return settings.demo_data
    return is_loopback(settings.host) and not (settings.admin_email and settings.admin_password)


async def prepare(services: Any, settings: Settings, clock: Clock) -> str:
    """The admin, and the demo data on a first start (empty catalog) if wanted; what to print.
    UnsafeExposure when demo accounts would be served on a non-loopback address."""
    demo, local = demo_wanted(settings), is_loopback(settings.host)
    if demo and not local:
        raise UnsafeExposure(
            f"MARKET_DEMO_DATA=true on {settings.host}: the demo accounts' passwords are published; "
            "serve demo data on 127.0.0.1 only"
        )
    lines = []
    if settings.admin_email and settings.admin_password:
        await services.member.ensure_admin(settings.admin_email, settings.admin_password)
    elif demo:
        log.warning(
            "MARKET_ADMIN_EMAIL / MARKET_ADMIN_PASSWORD are unset: the demo admin %s", DEMO_ADMIN_EMAIL
        )
        lines.append(
            f"WARNING: demo admin in use ({DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}); set "
            "MARKET_ADMIN_EMAIL and MARKET_ADMIN_PASSWORD for anything but a demo on this machine"
        )
        await services.member.ensure_admin(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
    elif not local and await services.member.can_sign_in(DEMO_ADMIN_EMAIL):
        raise UnsafeExposure(
            f"the demo admin {DEMO_ADMIN_EMAIL} (published password) is in {settings.data_dir} and this "
            f"server would answer on {settings.host}: set MARKET_ADMIN_EMAIL and MARKET_ADMIN_PASSWORD "
            "(the demo admin is then retired), or serve on 127.0.0.1"
        )
    lines += await _retire(services, demo, settings)
    if demo and not await services.product.list_products(limit=1):
        lines += await _seed(services, clock.now())
    return "\n".join(lines) if lines else "market: admin present, no demo data added"


async def _retire(services: Any, demo: bool, settings: Settings) -> list[str]:
    """Retire the demo accounts that must not be used: all of them without demo data, and the demo admin
    once a real admin is configured."""
    configured = bool(settings.admin_email and settings.admin_password)
    emails = [DEMO_ADMIN_EMAIL] if configured or not demo else []
    emails += [] if demo else [email for email, *_ in MEMBERS]
    emails = [e for e in emails if not configured or e != (settings.admin_email or "").strip().lower()]
    retired = [email for email in emails if await services.member.retire(email)]
    if retired:
        log.warning("demo accounts retired (they can no longer sign in): %s", ", ".join(retired))
    return [f"demo accounts retired: {', '.join(retired)}"] if retired else []


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
