"""The order mix: which payment plan each order uses, and the body that plan posts."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

# Plan → share of orders (percent). DECLINE is a PG order the sandbox refuses (FAILED PG_DECLINED).
MIX = {"PG": 38, "PG+POINT": 20, "PG+POINT+COUPON": 15, "BNPL": 12, "POINT": 12, "DECLINE": 3}
EXPECTED = {"DECLINE": ("FAILED", "PG_DECLINED")}  # every other plan should end PAID
BNPL_MIN = 10_000
POINT_SHARES = (500, 1_000, 2_000, 5_000)


@dataclass(frozen=True)
class Product:
    id: str
    price: int


@dataclass
class Shopper:
    """A logged-in member of the pool, with the coupons still unused (one per coupon order)."""

    id: str
    token: str
    coupons: list[str] = field(default_factory=list)

    @property
    def auth(self) -> str:
        return f"Bearer {self.token}"


def choose_plan(rng: random.Random) -> str:
    return rng.choices(list(MIX), weights=list(MIX.values()))[0]


def _lines(rng: random.Random, products: list[Product], plan: str) -> list[tuple[Product, int]]:
    picked = rng.sample(products, k=rng.randint(1, min(3, len(products))))
    if plan == "BNPL" and sum(p.price * 2 for p in picked) < BNPL_MIN:
        picked = [max(products, key=lambda p: p.price)]  # BNPL needs a total of at least 10,000 won
    lines = [(p, rng.randint(1, 2)) for p in picked]
    if plan == "BNPL" and sum(p.price * q for p, q in lines) < BNPL_MIN:
        lines = [(p, 2) for p, _ in lines]
    return lines


def _legs(
    plan: str, total: int, rng: random.Random, coupon: str | None, discount: int
) -> list[dict[str, Any]]:
    points = min(rng.choice(POINT_SHARES), total - discount - 1)
    if plan == "DECLINE":
        return [{"method": "PG", "amount": total, "payment_key": "pk_test_decline"}]
    if plan == "BNPL":
        return [{"method": "BNPL", "amount": total, "payment_key": "bnpl_test_ok"}]
    if plan == "POINT":
        return [{"method": "POINT", "amount": total}]
    if plan == "PG+POINT":
        return [
            {"method": "PG", "amount": total - points, "payment_key": "pk_test_ok"},
            {"method": "POINT", "amount": points},
        ]
    if plan == "PG+POINT+COUPON":
        return [
            {"method": "PG", "amount": total - points - discount, "payment_key": "pk_test_ok"},
            {"method": "POINT", "amount": points},
            {"method": "COUPON", "coupon_id": coupon, "amount": discount},
        ]
    return [{"method": "PG", "amount": total, "payment_key": "pk_test_ok"}]


def order_body(
    rng: random.Random, products: list[Product], shopper: Shopper, discount: int, plan: str | None = None
) -> tuple[str, dict[str, Any]]:
    """A plan drawn from MIX (a coupon order without a coupon left becomes PG+POINT) and its order body."""
    plan = plan or choose_plan(rng)
    coupon = None
    if plan == "PG+POINT+COUPON":
        if shopper.coupons:
            coupon = shopper.coupons.pop()
        else:
            plan = "PG+POINT"
    lines = _lines(rng, products, plan)
    total = sum(p.price * q for p, q in lines)
    body = {
        "items": [{"product_id": p.id, "quantity": q} for p, q in lines],
        "payments": _legs(plan, total, rng, coupon, discount),
    }
    return plan, body
