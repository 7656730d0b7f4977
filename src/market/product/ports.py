"""What the product use cases need from the outside: persistence of sellers, products, reservations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from market.kernel.db import Writer
from market.kernel.messaging import Inbox, Outbox
from market.product.domain import Product, Reservation, Seller


class SellerRepository(Protocol):
    async def add(self, seller: Seller) -> None: ...

    async def get(self, seller_id: str) -> Seller | None: ...


class ProductRepository(Protocol):
    async def add(self, product: Product) -> None: ...

    async def get(self, product_id: str, for_update: bool = False) -> Product | None:
        """The product, or None; `for_update` locks its row until the unit of work ends."""
        ...

    async def get_many(self, product_ids: Sequence[str]) -> list[Product]:
        """The products that exist among `product_ids`, in no particular order."""
        ...

    async def newest(self, limit: int, cursor: str | None) -> list[Product]:
        """Up to `limit` products, newest first, older than `cursor`."""
        ...

    async def save(self, product: Product) -> None:
        """Write back a product read with `for_update`."""
        ...

    async def take_stock(self, product_id: str, quantity: int, at: datetime) -> bool:
        """Take `quantity` off the stock on hand if that much is there; False (nothing taken) if not."""
        ...

    async def put_back(self, product_id: str, quantity: int, at: datetime) -> None:
        """Return `quantity` to the stock on hand."""
        ...


class ReservationRepository(Protocol):
    async def of_order(self, order_id: str, for_update: bool = False) -> list[Reservation]:
        """Every reservation row of an order (held or released)."""
        ...

    async def add(self, reservations: Sequence[Reservation]) -> None: ...

    async def release(self, order_id: str, product_id: str, at: datetime) -> bool:
        """Mark a held reservation released; False if it was not held (already released)."""
        ...

    async def release_part(self, order_id: str, product_id: str, quantity: int) -> bool:
        """Take `quantity` off a held reservation, which stays held (perhaps of 0) until its order ends;
        False (nothing changed) if it is not held or holds less."""
        ...


class UnitOfWork(Protocol):
    """One transaction: commits when its block ends normally, rolls back when it raises."""

    @property
    def sellers(self) -> SellerRepository: ...

    @property
    def products(self) -> ProductRepository: ...

    @property
    def reservations(self) -> ReservationRepository: ...

    @property
    def inbox(self) -> Inbox: ...

    @property
    def outbox(self) -> Outbox:
        """The catalog's changes (ProductChanged), for the caches of other services."""
        ...


UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]
# Runs a unit of work's body in a transaction, perhaps with other callers' bodies (kernel.db.Writer).
Writes = Writer[UnitOfWork]
