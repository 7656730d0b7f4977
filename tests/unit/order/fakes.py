"""Fakes of the order service's outbound ports (member, product, payment services), and a test world."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from market.kernel.clock import ManualClock, iso
from market.kernel.coupons import AVAILABLE, FIXED, CouponDefinition, IssuedCoupon
from market.kernel.errors import DomainError, Unavailable
from market.kernel.events import Envelope
from market.kernel.plan import Leg, Method
from market.order.adapters.memory import OrderState, memory_uow
from market.order.adapters.watch import StatusWatch
from market.order.domain import Order
from market.order.ports import MemberSnapshot, ProductSnapshot, UnitOfWorkFactory, Writes
from market.order.use_cases import OrderService
from market.order.use_cases.idempotency import Idempotency
from market.order.use_cases.placing import Placing
from tests.events import event

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class FakeMembers:
    def __init__(self) -> None:
        self.members: dict[str, MemberSnapshot] = {}
        self.gate: asyncio.Barrier | None = None

    async def get_member(self, member_id: str) -> MemberSnapshot | None:
        if self.gate:
            await self.gate.wait()
        return self.members.get(member_id)


class FakeCatalog:
    """Products with stock; reservations all lines or none, once per order (refused once released), like
    the product service."""

    def __init__(self) -> None:
        self.products: dict[str, ProductSnapshot] = {}
        self.stock: dict[str, int] = {}
        self.reservations: dict[str, list[tuple[str, int]]] = {}
        self.released: list[str] = []
        self.unreachable = False
        self.answer_lost = False  # a reservation made, its answer lost on the way back
        self.release_unreachable = False
        self.gate: asyncio.Barrier | None = None

    def add(self, product_id: str, price: int, stock: int = 10, on_sale: bool = True) -> ProductSnapshot:
        product = ProductSnapshot(product_id, "sel_1", f"Product {product_id}", price, on_sale)
        self.products[product_id], self.stock[product_id] = product, stock
        return product

    async def get_products(self, ids: Sequence[str], fresh: bool = False) -> list[ProductSnapshot]:
        if self.gate:
            await self.gate.wait()
        return [self.products[i] for i in ids if i in self.products]

    async def reserve_stock(
        self, order_id: str, lines: Sequence[tuple[str, int]], prices: Mapping[str, int] | None = None
    ) -> None:
        if self.unreachable:
            raise Unavailable("product")
        if order_id in self.reservations:
            return
        if order_id in self.released:
            raise DomainError("STOCK_RELEASED", f"the stock of order {order_id} was already released")
        for product_id, price in (prices or {}).items():
            if product_id in self.products and self.products[product_id].price != price:
                raise DomainError("PRICE_CHANGED", "the price changed", product_id=product_id)
        for product_id, quantity in lines:
            if self.stock.get(product_id, 0) < quantity:
                raise DomainError("OUT_OF_STOCK", "not enough stock", product_id=product_id)
        for product_id, quantity in lines:
            self.stock[product_id] -= quantity
        self.reservations[order_id] = list(lines)
        if self.answer_lost:
            raise Unavailable("product")

    async def release_stock(self, order_id: str) -> None:
        if self.release_unreachable:
            raise Unavailable("product")
        self.released.append(order_id)
        for product_id, quantity in self.reservations.pop(order_id, []):
            self.stock[product_id] += quantity


class FakeCoupons:
    def __init__(self) -> None:
        self.coupons: dict[str, IssuedCoupon] = {}
        self.gate: asyncio.Barrier | None = None

    def issue(
        self, coupon_id: str, member_id: str, discount: int = 3_000, min_order: int = 0
    ) -> IssuedCoupon:
        definition = CouponDefinition(
            "cpn_1",
            "Welcome",
            FIXED,
            discount,
            None,
            min_order,
            START - timedelta(days=1),
            START + timedelta(days=30),
        )
        coupon = IssuedCoupon(coupon_id, definition, member_id, AVAILABLE)
        self.coupons[coupon_id] = coupon
        return coupon

    async def get_issued_coupon(self, coupon_id: str) -> IssuedCoupon | None:
        if self.gate:
            await self.gate.wait()
        return self.coupons.get(coupon_id)


@dataclass
class World:
    """The real OrderService on memory repositories and fake ports, with a manual clock."""

    clock: ManualClock = field(default_factory=lambda: ManualClock(START))
    state: OrderState = field(default_factory=OrderState)
    members: FakeMembers = field(default_factory=FakeMembers)
    catalog: FakeCatalog = field(default_factory=FakeCatalog)
    coupons: FakeCoupons = field(default_factory=FakeCoupons)

    def __post_init__(self) -> None:
        self.rewire(memory_uow(self.state))

    def rewire(self, uow: UnitOfWorkFactory, writes: Writes | None = None) -> None:
        """Rebuild the service over another unit-of-work factory (one that fails, say) and write path."""

        async def versions(order_ids: Sequence[str]) -> dict[str, str]:
            async with uow() as unit:
                return await unit.orders.versions(order_ids)

        self.watch = StatusWatch(versions, interval=0.01)
        self.service = OrderService(
            uow=uow,
            clock=self.clock,
            members=self.members,
            catalog=self.catalog,
            coupons=self.coupons,
            watch=self.watch,
            writes=writes,
        )

    @property
    def keys(self) -> Idempotency:
        return self.service._keys

    @property
    def placing(self) -> Placing:
        return self.service._placing

    def member(self, member_id: str = "mem_1", points: int = 0, active: bool = True) -> str:
        self.members.members[member_id] = MemberSnapshot(member_id, active, points)
        return member_id

    async def place(self, member_id: str = "mem_1", *lines: tuple[str, int], pay: int | None = None) -> Order:
        """An order paid by card; the amount is the catalog total unless `pay` says otherwise."""
        total = sum(self.catalog.products[p].price * q for p, q in lines)
        return await self.service.place_order(member_id, list(lines), [pg(total if pay is None else pay)])

    def events(self, type_: str | None = None) -> list[Envelope]:
        return [e for e in self.state.outbox if type_ is None or e.type == type_]

    async def pay(self, order: Order, **payload: Any) -> Envelope:
        legs = [
            {"method": leg.method.value, "amount": leg.amount, "status": "APPROVED"} for leg in order.payments
        ]
        payload = {
            "member_id": order.member_id,
            "legs": legs,
            "approved_at": iso(self.clock.now()),
            **payload,
        }
        envelope = event("PaymentCompleted", order.id, self.clock.now(), **payload)
        await self.service.handle(envelope)
        return envelope

    async def fail(self, order: Order, reason: str = "PG_DECLINED") -> Envelope:
        legs = [
            {"method": leg.method.value, "amount": leg.amount, "status": "FAILED"} for leg in order.payments
        ]
        envelope = event(
            "PaymentFailed", order.id, self.clock.now(), member_id=order.member_id, reason=reason, legs=legs
        )
        await self.service.handle(envelope)
        return envelope

    async def refund(self, order: Order) -> Envelope:
        legs = [
            {"method": leg.method.value, "amount": leg.amount, "status": "REFUNDED"} for leg in order.payments
        ]
        envelope = event(
            "PaymentRefunded",
            order.id,
            self.clock.now(),
            member_id=order.member_id,
            legs=legs,
            refunded_at=iso(self.clock.now()),
        )
        await self.service.handle(envelope)
        return envelope

    async def refund_part(self, order: Order, refunds: dict[str, int] | None = None) -> Envelope:
        """Play the payment service's answer to the order's pending partial cancellation: each leg gives
        back the split the order previewed, unless `refunds` says otherwise."""
        pending = order.pending_cancellation
        assert pending is not None
        shares = refunds or {r.method.value: r.amount for r in pending.refunds}
        envelope = event(
            "PaymentPartiallyRefunded",
            order.id,
            self.clock.now(),
            member_id=order.member_id,
            cancellation_id=pending.id,
            refunds=[{"method": m, "amount": a} for m, a in shares.items()],
            refunded_at=iso(self.clock.now()),
        )
        await self.service.handle(envelope)
        return envelope

    async def order(self, order_id: str) -> Order:
        return await self.service.get_order("", order_id, is_admin=True)


def pg(amount: int, key: str = "pk_test_ok") -> Leg:
    return Leg(Method.PG, amount, payment_key=key)


def points(amount: int) -> Leg:
    return Leg(Method.POINT, amount)


def coupon(amount: int, coupon_id: str = "icp_1") -> Leg:
    return Leg(Method.COUPON, amount, coupon_id=coupon_id)


def bnpl(amount: int) -> Leg:
    return Leg(Method.BNPL, amount, payment_key="bnpl_test_ok")
