"""order's `Catalog` port with the products it read recently kept in memory (a decorator of any Catalog).

Prices almost never change, so placing an order need not ask the product service for them every time.
Correctness does not rest on the time-to-live: the reservation carries the prices the order was priced
at and the product service refuses it (PRICE_CHANGED) when one is stale; the order service then reads
the products afresh (`fresh=True`), which also refreshes what is kept here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from market.kernel.clock import Clock
from market.kernel.errors import DomainError
from market.order.ports import Catalog, ProductSnapshot

# The refusals after which what this cache holds about the order's products may be wrong.
STALE_REFUSALS = frozenset({"PRICE_CHANGED", "PRODUCT_NOT_ON_SALE", "PRODUCT_NOT_FOUND"})


class CachedCatalog:
    """`catalog` with up to `size` product snapshots kept for `ttl_seconds` each, least recently used out."""

    def __init__(self, catalog: Catalog, clock: Clock, *, ttl_seconds: float, size: int) -> None:
        self._catalog = catalog
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        self._size = size
        self._kept: OrderedDict[str, tuple[ProductSnapshot, datetime]] = OrderedDict()
        # Bumped by every fresh read and every forget: a plain read begun before must not keep older data.
        self._generation = 0

    async def get_products(self, ids: Sequence[str], fresh: bool = False) -> list[ProductSnapshot]:
        now = self._clock.now()
        found: list[ProductSnapshot] = []
        missing: list[str] = []
        for product_id in dict.fromkeys(ids):
            kept = None if fresh else self._kept.get(product_id)
            if kept is not None and now - kept[1] < self._ttl:
                self._kept.move_to_end(product_id)
                found.append(kept[0])
            else:
                missing.append(product_id)
        if missing:
            generation = self._generation
            read = await self._catalog.get_products(missing, fresh=True)
            if fresh:
                self._generation += 1
            if fresh or generation == self._generation:
                self._keep(read, now)
            found.extend(read)
        return found

    async def reserve_stock(
        self, order_id: str, lines: Sequence[tuple[str, int]], prices: Mapping[str, int]
    ) -> None:
        try:
            await self._catalog.reserve_stock(order_id, lines, prices)
        except DomainError as exc:
            if exc.code in STALE_REFUSALS:  # what is kept about these products is wrong: read them again
                self.forget([product_id for product_id, _ in lines])
            raise

    async def release_stock(self, order_id: str) -> None:
        await self._catalog.release_stock(order_id)

    def forget(self, ids: Sequence[str]) -> None:
        """Drop these products: the next read of them asks the product service."""
        self._generation += 1
        for product_id in ids:
            self._kept.pop(product_id, None)

    def _keep(self, products: Sequence[ProductSnapshot], at: datetime) -> None:
        for product in products:
            self._kept[product.id] = (replace(product, cached=True), at)
            self._kept.move_to_end(product.id)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)
