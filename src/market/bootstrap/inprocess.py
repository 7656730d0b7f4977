"""The embedded mode's cross-service calls: each port of one service served by another's use cases.

These are the in-process twins of the gRPC adapters; both pass the same port contract tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from market.kernel.coupons import IssuedCoupon
from market.kernel.errors import NotFound
from market.order.ports import MemberSnapshot, ProductSnapshot


class InProcessMembers:
    """order's `Members` port and payment's `PointsAccount` port, served by MemberService."""

    def __init__(self, members: Any) -> None:
        self._members = members

    async def get_member(self, member_id: str) -> MemberSnapshot | None:
        m = await self._members.get_member(member_id)
        if m is None:
            return None
        return MemberSnapshot(id=m.id, active=m.status == "ACTIVE", point_balance=m.point_balance)

    async def balance(self, member_id: str) -> int:
        m = await self._members.get_member(member_id)
        if m is None:
            raise NotFound("member")
        return int(m.point_balance)

    async def use_points(self, member_id: str, order_id: str, amount: int) -> None:
        await self._members.use_points(member_id, order_id, amount)

    async def refund_points(
        self, member_id: str, order_id: str, amount: int | None = None, refund_id: str = ""
    ) -> int:
        return int(await self._members.refund_points(member_id, order_id, amount, refund_id))


class InProcessCatalog:
    """order's `Catalog` port, served by ProductService."""

    def __init__(self, products: Any) -> None:
        self._products = products

    async def get_products(self, ids: Sequence[str], fresh: bool = False) -> list[ProductSnapshot]:
        # Always fresh: this adapter keeps nothing.
        return [
            ProductSnapshot(
                id=p.id, seller_id=p.seller_id, name=p.name, price=p.price, on_sale=p.status == "ON_SALE"
            )
            for p in await self._products.get_products(ids)
        ]

    async def reserve_stock(
        self, order_id: str, lines: Sequence[tuple[str, int]], prices: Mapping[str, int] | None = None
    ) -> None:
        await self._products.reserve_stock(order_id, lines, prices)

    async def release_stock(self, order_id: str) -> None:
        await self._products.release_stock(order_id)


class InProcessCoupons:
    """order's `Coupons` port, served by PaymentService."""

    def __init__(self, payments: Any) -> None:
        self._payments = payments

    async def get_issued_coupon(self, coupon_id: str) -> IssuedCoupon | None:
        coupon: IssuedCoupon | None = await self._payments.get_issued_coupon(coupon_id)
        return coupon


class Later:
    """A service of this process, reached when called: the services are built one after the other."""

    def __init__(self, adapters: Any, name: str) -> None:
        self._adapters, self._name = adapters, name

    def __getattr__(self, attr: str) -> Any:
        assert self._adapters.platform is not None
        return getattr(self._adapters.platform.service(self._name), attr)
