"""Small stand-ins for MemberService, ProductService and PaymentService, as the gRPC servers see them.

They keep the contracts the ports rely on: the same attributes, the same DomainErrors, idempotency by order id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone

from market.kernel.coupons import CouponDefinition, IssuedCoupon
from market.kernel.errors import DomainError, NotFound, Unavailable

KST = timezone(timedelta(hours=9))


@dataclass
class Member:
    id: str
    email: str
    name: str
    status: str
    point_balance: int
    role: str = "member"
    locale: str = "ko"


@dataclass
class MemberService:
    members: dict[str, Member]
    used: dict[str, int] = field(default_factory=dict)
    refunded: dict[str, int] = field(default_factory=dict)
    parts: dict[tuple[str, str], int] = field(default_factory=dict)
    unavailable_times: int = 0  # answer Unavailable this many times first (a member DB that is restarting)

    async def get_member(self, member_id: str) -> Member | None:
        if self.unavailable_times:
            self.unavailable_times -= 1
            raise Unavailable("member database")
        return self.members.get(member_id)

    async def use_points(self, member_id: str, order_id: str, amount: int) -> None:
        if amount <= 0:
            raise DomainError("VALIDATION_ERROR", "amount: must be positive", errors=[{"field": "amount"}])
        member = self.members.get(member_id)
        if member is None:
            raise NotFound("member")
        if order_id in self.refunded:
            raise DomainError("POINTS_REFUNDED", f"the points of order {order_id} were already refunded")
        if order_id in self.used:
            return
        if amount > member.point_balance:
            raise DomainError("INSUFFICIENT_POINTS", "포인트가 부족합니다", balance=member.point_balance)
        member.point_balance -= amount
        self.used[order_id] = amount

    async def refund_points(
        self, member_id: str, order_id: str, amount: int | None = None, refund_id: str = ""
    ) -> int:
        if amount is not None:  # a partial refund, once per refund id
            if (order_id, refund_id) not in self.parts:
                self.parts[(order_id, refund_id)] = amount
                self.members[member_id].point_balance += amount
            return self.parts[(order_id, refund_id)]
        if order_id not in self.refunded:
            self.refunded[order_id] = self.used.get(order_id, 0)
            self.members[member_id].point_balance += self.refunded[order_id]
        return self.refunded[order_id]


@dataclass
class Product:
    id: str
    seller_id: str
    name: str
    price: int
    stock: int
    status: str = "ON_SALE"


@dataclass
class ProductService:
    products: dict[str, Product]
    reserved: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    async def get_products(self, ids: list[str]) -> list[Product]:
        return [self.products[i] for i in ids if i in self.products]

    async def reserve_stock(
        self, order_id: str, lines: list[tuple[str, int]], prices: Mapping[str, int] | None = None
    ) -> None:
        if order_id in self.reserved:
            return
        for product_id, price in (prices or {}).items():
            if self.products[product_id].price != price:
                raise DomainError(
                    "PRICE_CHANGED",
                    "the price changed",
                    product_id=product_id,
                    price=self.products[product_id].price,
                )
        for product_id, quantity in lines:
            if self.products[product_id].stock < quantity:
                raise DomainError("OUT_OF_STOCK", "not enough stock", product_id=product_id)
        for product_id, quantity in lines:
            self.products[product_id].stock -= quantity
        self.reserved[order_id] = list(lines)

    async def release_stock(self, order_id: str) -> bool:
        for product_id, quantity in self.reserved.pop(order_id, []):
            self.products[product_id].stock += quantity
        return True


@dataclass
class PaymentService:
    coupons: dict[str, IssuedCoupon]

    async def get_issued_coupon(self, coupon_id: str) -> IssuedCoupon | None:
        return self.coupons.get(coupon_id)


TEN_PERCENT = CouponDefinition(
    "def-1",
    "10% off",
    "PERCENT",
    10,
    None,
    10_000,
    datetime(2025, 1, 1, tzinfo=UTC),
    datetime(2030, 1, 1, tzinfo=KST),
)
WON_OFF = replace(TEN_PERCENT, id="def-2", discount_type="FIXED", discount_value=3_000, max_discount=5_000)


def fakes() -> tuple[MemberService, ProductService, PaymentService]:
    """Fresh services: m1 active with 5,000 points, m2 suspended; p1 on sale, p2 sold out; coupons c1, c2."""
    members = MemberService(
        {
            "m1": Member("m1", "a@x.kr", "Kim", "ACTIVE", 5_000),
            "m2": Member("m2", "b@x.kr", "Lee", "SUSPENDED", 0),
        }
    )
    products = ProductService(
        {"p1": Product("p1", "s1", "Pen", 1_500, 10), "p2": Product("p2", "s1", "Ink", 9_000, 1, "SOLD_OUT")}
    )
    coupons = {
        "c1": IssuedCoupon("c1", TEN_PERCENT, "m1", "AVAILABLE"),
        "c2": IssuedCoupon("c2", WON_OFF, "m1", "USED", "o9"),
    }
    return members, products, PaymentService(coupons)
