"""What the order use cases need from the outside: persistence, the other services, a status watch."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from market.kernel.coupons import IssuedCoupon
from market.kernel.db import Writer
from market.kernel.messaging import Inbox, Outbox
from market.order.domain import KeyUse, Order, OrderStatus


class OrderRepository(Protocol):
    async def add(self, order: Order) -> None:
        """Store a new order."""
        ...

    async def get(self, order_id: str, for_update: bool = False) -> Order | None:
        """The order, or None; `for_update` locks its row until the unit of work ends."""
        ...

    async def save(self, order: Order, was: OrderStatus) -> bool:
        """Write back a changed order if it still has status `was`; False (nothing written) if not."""
        ...

    async def newest(
        self, member_id: str, limit: int, cursor: str | None, status: OrderStatus | None = None
    ) -> list[Order]:
        """Up to `limit` of the member's orders (of `status`, if given), newest first, older than `cursor`
        (an order id)."""
        ...

    async def stuck(self, before: datetime, limit: int) -> list[Order]:
        """Up to `limit` orders PENDING or CANCELLING whose last change is older than `before`, oldest first."""
        ...

    async def save_timeline(self, order: Order) -> None:
        """Write back an order whose timeline alone changed."""
        ...

    async def versions(self, order_ids: Sequence[str]) -> dict[str, str]:
        """The version (`Order.version`: when it last changed) of each of these orders that exists."""
        ...


class IdempotencyKeyRepository(Protocol):
    async def start(self, use: KeyUse) -> bool:
        """Record a new in-flight use of a key; False (nothing recorded) when the member has used it."""
        ...

    async def get(self, member_id: str, key: str) -> KeyUse | None: ...

    async def take_over(
        self, abandoned: KeyUse, fingerprint: str, at: datetime, resource_id: str | None = None
    ) -> bool:
        """Restart an abandoned in-flight use as this request's; False if it changed meanwhile.
        A stored resource id is kept; `resource_id` is recorded only where there was none."""
        ...

    async def finish(self, member_id: str, key: str, status_code: int, body: str, at: datetime) -> None:
        """Store the response of the in-flight use for replays."""
        ...

    async def forget(self, member_id: str, key: str) -> None: ...

    async def abandon(self, member_id: str, key: str, as_of: datetime) -> None:
        """Mark an in-flight use as last touched at `as_of` (in the past: the sweep may take it now)."""
        ...

    async def forget_unchanged(self, use: KeyUse) -> bool:
        """Forget this very use: False (nothing forgotten) if the key was touched after `use.updated_at`."""
        ...

    async def abandoned_placements(self, before: datetime, limit: int) -> list[KeyUse]:
        """Up to `limit` in-flight uses with a resource id, last touched at or before `before`, whose order
        was never stored: placements that crashed, perhaps holding stock. Oldest first."""
        ...

    async def forget_done_before(self, before: datetime) -> int:
        """Drop completed uses last touched before `before`; how many."""
        ...


class UnitOfWork(Protocol):
    """One transaction: commits when its block ends normally, rolls back when it raises."""

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def idempotency_keys(self) -> IdempotencyKeyRepository: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def inbox(self) -> Inbox: ...


UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]
# Runs a unit of work's body in a transaction, perhaps with other requests' bodies (kernel.db.Writer).
Writes = Writer[UnitOfWork]


@dataclass(frozen=True)
class MemberSnapshot:
    id: str
    active: bool
    point_balance: int


@dataclass(frozen=True)
class ProductSnapshot:
    id: str
    seller_id: str
    name: str
    price: int
    on_sale: bool
    cached: bool = False  # answered from the order service's memory: perhaps a few seconds old


class Members(Protocol):
    async def get_member(self, member_id: str) -> MemberSnapshot | None:
        """The member, or None when there is none; Unavailable when the member service cannot answer."""
        ...


class Catalog(Protocol):
    """The product service's catalog and stock. An adapter may answer `get_products` from a short-lived
    cache (those snapshots say `cached`); `reserve_stock` verifies the prices the order was priced at."""

    async def get_products(self, ids: Sequence[str], fresh: bool = False) -> list[ProductSnapshot]:
        """The products that exist among `ids`, in any order; `fresh`: as the product service has them now."""
        ...

    async def reserve_stock(
        self, order_id: str, lines: Sequence[tuple[str, int]], prices: Mapping[str, int]
    ) -> None:
        """Take every line's quantity off the stock for this order, or nothing; idempotent.

        Refused, taking nothing: OUT_OF_STOCK, PRODUCT_NOT_ON_SALE, and PRICE_CHANGED when a product's
        price now is not `prices[product_id]`, the unit price the order was priced at.
        """
        ...

    async def release_stock(self, order_id: str) -> None:
        """Give back what this order holds, once; nothing if it holds nothing."""
        ...


class Coupons(Protocol):
    async def get_issued_coupon(self, coupon_id: str) -> IssuedCoupon | None:
        """The issued coupon, or None."""
        ...


class StatusWatch(Protocol):
    """Wakes requests that wait for an order to settle (`Prefer: wait=N`) when its status changes, on this
    replica or another."""

    def notify(self, order: Order) -> None:
        """Wake the waiters of this order with it: call it only once the order's new state is committed."""
        ...

    async def wait(self, order_id: str, seen: str, timeout: float) -> Order | None:  # noqa: ASYNC109
        """The order `notify` is called with; None once its version (`Order.version`) is no longer `seen`
        (read it again) or after `timeout` seconds, whichever comes first."""
        ...
