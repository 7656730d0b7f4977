"""In-memory product repositories: the fakes the unit tests run on, with the SQL adapter's behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime

from market.infra.memory import MemoryInbox, MemoryOutbox, snapshot_uow
from market.kernel.events import Envelope
from market.product.domain import RELEASED, Product, Reservation, Seller

_Snapshot = tuple[
    dict[str, Seller], dict[str, Product], dict[tuple[str, str], Reservation], set[str], list[Envelope]
]


@dataclass
class ProductState:
    """Everything the product database holds; a unit of work restores a copy when its block raises."""

    sellers: dict[str, Seller] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    reservations: dict[tuple[str, str], Reservation] = field(default_factory=dict)
    inbox: set[str] = field(default_factory=set)
    outbox: list[Envelope] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def snapshot(self) -> _Snapshot:
        # The values are frozen dataclasses and strings: copying the containers is enough.
        return (
            dict(self.sellers),
            dict(self.products),
            dict(self.reservations),
            set(self.inbox),
            list(self.outbox),
        )

    def restore(self, snap: _Snapshot) -> None:
        self.sellers, self.products, self.reservations, self.inbox, self.outbox = snap


class MemorySellers:
    def __init__(self, state: ProductState) -> None:
        self._s = state

    async def add(self, seller: Seller) -> None:
        self._s.sellers[seller.id] = seller

    async def get(self, seller_id: str) -> Seller | None:
        return self._s.sellers.get(seller_id)


class MemoryProducts:
    def __init__(self, state: ProductState) -> None:
        self._s = state

    async def add(self, product: Product) -> None:
        self._s.products[product.id] = product

    async def get(self, product_id: str, for_update: bool = False) -> Product | None:
        return self._s.products.get(product_id)

    async def get_many(self, product_ids: Sequence[str]) -> list[Product]:
        return [self._s.products[i] for i in set(product_ids) if i in self._s.products]

    async def newest(self, limit: int, cursor: str | None) -> list[Product]:
        found = [p for p in self._s.products.values() if cursor is None or p.id < cursor]
        return sorted(found, key=lambda p: p.id, reverse=True)[:limit]

    async def save(self, product: Product) -> None:
        if product.id in self._s.products:
            self._s.products[product.id] = product

    async def take_stock(self, product_id: str, quantity: int, at: datetime) -> bool:
        product = self._s.products.get(product_id)
        if product is None or product.stock < quantity:
            return False
        self._s.products[product_id] = replace(product, stock=product.stock - quantity, updated_at=at)
        return True

    async def put_back(self, product_id: str, quantity: int, at: datetime) -> None:
        product = self._s.products.get(product_id)
        if product is not None:
            self._s.products[product_id] = replace(product, stock=product.stock + quantity, updated_at=at)


class MemoryReservations:
    def __init__(self, state: ProductState) -> None:
        self._s = state

    async def of_order(self, order_id: str, for_update: bool = False) -> list[Reservation]:
        return sorted(
            (r for (o, _), r in self._s.reservations.items() if o == order_id), key=lambda r: r.product_id
        )

    async def add(self, reservations: Sequence[Reservation]) -> None:
        keys = [(r.order_id, r.product_id) for r in reservations]
        if len(set(keys)) != len(keys) or any(k in self._s.reservations for k in keys):
            raise KeyError(f"reservation already recorded: {keys}")  # as SQL's primary key would refuse it
        self._s.reservations.update(zip(keys, reservations, strict=True))

    async def release(self, order_id: str, product_id: str, at: datetime) -> bool:
        reservation = self._s.reservations.get((order_id, product_id))
        if reservation is None or not reservation.held:
            return False
        self._s.reservations[(order_id, product_id)] = replace(reservation, status=RELEASED, released_at=at)
        return True

    async def release_part(self, order_id: str, product_id: str, quantity: int) -> bool:
        reservation = self._s.reservations.get((order_id, product_id))
        if reservation is None or not reservation.held or reservation.quantity < quantity:
            return False
        self._s.reservations[(order_id, product_id)] = replace(
            reservation, quantity=reservation.quantity - quantity
        )
        return True


class MemoryUnitOfWork:
    def __init__(self, state: ProductState) -> None:
        self.sellers = MemorySellers(state)
        self.products = MemoryProducts(state)
        self.reservations = MemoryReservations(state)
        self.inbox = MemoryInbox(state.inbox)
        self.outbox = MemoryOutbox(state.outbox)


def memory_uow(
    state: ProductState | None = None,
) -> Callable[[], AbstractAsyncContextManager[MemoryUnitOfWork]]:
    """A unit-of-work factory over `state` (a fresh one if not given); blocks never interleave."""
    return snapshot_uow(state if state is not None else ProductState(), MemoryUnitOfWork)
