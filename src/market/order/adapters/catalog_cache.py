"""order's `Catalog` port with the products it read recently kept in a cache (a decorator of any Catalog).

Prices almost never change, so placing an order need not ask the product service for them every time. The
cache is Redis in the distributed mode (one for every replica) and this process's memory in the embedded
one (`infra.cache`). The product service announces each change of a product (ProductChanged on
product.events) and `CatalogInvalidation` makes the cache forget it at once, so every replica's next order
reads the new price. Correctness does not rest on that, nor on the time-to-live: the reservation carries
the prices the order was priced at and the product service refuses it (PRICE_CHANGED) when one is stale;
the order service then reads the products afresh (`fresh=True`), which also refreshes what is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import orjson

from market.infra.cache import Cache
from market.kernel import codec
from market.kernel.errors import DomainError
from market.kernel.events import Envelope, ProductChanged
from market.order.ports import Catalog, ProductSnapshot

# The refusals after which what this cache holds about the order's products may be wrong.
STALE_REFUSALS = frozenset({"PRICE_CHANGED", "PRODUCT_NOT_ON_SALE", "PRODUCT_NOT_FOUND"})


class CachedCatalog:
    """`catalog` with the product snapshots it read kept in `cache` for `ttl_seconds` each."""

    def __init__(self, catalog: Catalog, cache: Cache, *, ttl_seconds: float) -> None:
        self._catalog = catalog
        self._cache = cache
        self._ttl = ttl_seconds
        # Bumped by every fresh read and every forget: a plain read begun before must not keep older data.
        self._generation = 0

    async def get_products(self, ids: Sequence[str], fresh: bool = False) -> list[ProductSnapshot]:
        wanted = list(dict.fromkeys(ids))
        kept = {} if fresh else await self._cache.get_many(wanted)
        found = [replace(codec.build(ProductSnapshot, orjson.loads(kept[i])), cached=True) for i in kept]
        missing = [i for i in wanted if i not in kept]
        if missing:
            generation = self._generation
            read = await self._catalog.get_products(missing, fresh=True)
            if fresh:
                self._generation += 1
            if fresh or generation == self._generation:
                values = {p.id: orjson.dumps(codec.plain(replace(p, cached=False))) for p in read}
                await self._cache.put_many(values, self._ttl)
            found.extend(read)
        return found

    async def reserve_stock(
        self, order_id: str, lines: Sequence[tuple[str, int]], prices: Mapping[str, int]
    ) -> None:
        try:
            await self._catalog.reserve_stock(order_id, lines, prices)
        except DomainError as exc:
            if exc.code in STALE_REFUSALS:  # what is kept about these products is wrong: read them again
                await self.forget([product_id for product_id, _ in lines])
            raise

    async def release_stock(self, order_id: str) -> None:
        await self._catalog.release_stock(order_id)

    async def forget(self, ids: Sequence[str]) -> None:
        """Drop these products: the next read of them asks the product service."""
        self._generation += 1
        await self._cache.forget(list(ids))


class CatalogInvalidation:
    """The order service's consumer of product.events: each product changed is forgotten by the cache."""

    def __init__(self, catalog: CachedCatalog) -> None:
        self._catalog = catalog

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        changed = [e.order_id for e in envelopes if e.type == ProductChanged.TYPE]  # keyed by product id
        if changed:
            await self._catalog.forget(changed)

    async def handle(self, envelope: Envelope) -> None:
        await self.handle_batch([envelope])
