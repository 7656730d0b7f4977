"""Orders priced from the order service's catalog cache: never at a stale price, and fewer catalog reads.

The real OrderService and the real ProductService (memory repositories), joined by the in-process Catalog
with the cache in front, as the composition roots wire them; an admin changes prices through the product
service's own use case.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from market.bootstrap.inprocess import InProcessCatalog
from market.infra.cache import MemoryCache
from market.kernel.clock import ManualClock
from market.kernel.errors import DomainError
from market.order.adapters.catalog_cache import CachedCatalog, CatalogInvalidation
from market.order.adapters.memory import OrderState
from market.order.adapters.memory import memory_uow as order_uow
from market.order.adapters.watch import StatusWatch
from market.order.domain import Order
from market.order.ports import MemberSnapshot, ProductSnapshot
from market.order.use_cases import OrderService
from market.product.adapters.memory import ProductState
from market.product.adapters.memory import memory_uow as product_uow
from market.product.use_cases import ProductService
from market.web.problems import status_of
from tests.unit.order.fakes import START, FakeCatalog, FakeCoupons, FakeMembers, pg

TTL = 30


class CountedCatalog:
    """The in-process catalog, counting the reads that reach the product service."""

    def __init__(self, products: ProductService) -> None:
        self._catalog = InProcessCatalog(products)
        self.reads: list[list[str]] = []
        self.reservations = 0  # reservations asked for, refused or not
        self.after_read: Callable[[], Awaitable[None]] | None = None

    async def get_products(self, ids: Sequence[str], fresh: bool = False) -> list[ProductSnapshot]:
        self.reads.append(list(ids))
        found = await self._catalog.get_products(ids)
        if self.after_read is not None:
            await self.after_read()
        return found

    async def reserve_stock(
        self, order_id: str, lines: Sequence[tuple[str, int]], prices: Mapping[str, int]
    ) -> None:
        self.reservations += 1
        await self._catalog.reserve_stock(order_id, lines, prices)

    async def release_stock(self, order_id: str) -> None:
        await self._catalog.release_stock(order_id)


async def _no_statuses(order_ids: object) -> dict[str, str]:
    return {}


@dataclass
class Shop:
    clock: ManualClock = field(default_factory=lambda: ManualClock(START))
    product_state: ProductState = field(default_factory=ProductState)
    orders: OrderState = field(default_factory=OrderState)

    def __post_init__(self) -> None:
        self.products = ProductService(uow=product_uow(self.product_state), clock=self.clock)
        self.catalog = CountedCatalog(self.products)
        self.cached = CachedCatalog(self.catalog, MemoryCache("catalog", self.clock, 100), ttl_seconds=TTL)
        self.invalidation = CatalogInvalidation(self.cached)  # the order service's product.events consumer
        members = FakeMembers()
        self.member_id = "mem_1"
        members.members[self.member_id] = MemberSnapshot(self.member_id, active=True, point_balance=0)
        self.orders_service = OrderService(
            uow=order_uow(self.orders),
            clock=self.clock,
            members=members,
            catalog=self.cached,
            coupons=FakeCoupons(),
            watch=StatusWatch(_no_statuses),
        )

    async def product(self, price: int, stock: int = 5) -> str:
        seller = await self.products.create_seller("Cafe Seoul")
        return (await self.products.create_product(seller.id, "Mug", price, stock)).id

    async def place(self, product_id: str, pay: int, quantity: int = 1) -> Order:
        return await self.orders_service.place_order(self.member_id, [(product_id, quantity)], [pg(pay)])

    async def stock(self, product_id: str) -> int:
        product = await self.products.get_product(product_id)
        assert product is not None
        return product.stock


@pytest.fixture
def shop() -> Shop:
    return Shop()


async def refused(shop: Shop, product_id: str, pay: int) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await shop.place(product_id, pay)
    return caught.value


async def test_a_second_order_within_the_ttl_reads_no_catalog(shop: Shop) -> None:
    mug = await shop.product(12_000)

    await shop.place(mug, 12_000)
    await shop.place(mug, 12_000)
    assert shop.catalog.reads == [[mug]]

    shop.clock.advance(timedelta(seconds=TTL))
    await shop.place(mug, 12_000)
    assert shop.catalog.reads == [[mug], [mug]]
    assert await shop.stock(mug) == 2


async def test_an_order_after_a_price_change_is_priced_at_the_new_price_though_the_old_is_kept(
    shop: Shop,
) -> None:
    mug = await shop.product(12_000)
    await shop.place(mug, 12_000)  # the order service now keeps the mug at 12,000
    await shop.products.update_product(mug, price=15_000)

    order = await shop.place(mug, 15_000)

    assert [(line.unit_price, order.total_amount) for line in order.items] == [(15_000, 15_000)]
    assert await shop.stock(mug) == 3  # taken once per order, never twice
    assert len(shop.orders.orders) == 2
    await shop.place(mug, 15_000)  # and the new price is the one kept from now on
    assert len(shop.catalog.reads) == 2


async def test_an_order_paying_the_old_price_is_refused_with_the_new_total_and_takes_nothing(
    shop: Shop,
) -> None:
    mug = await shop.product(12_000)
    await shop.place(mug, 12_000)
    await shop.products.update_product(mug, price=15_000)

    err = await refused(shop, mug, 12_000)

    assert (err.code, err.extra.get("expected_total")) == ("AMOUNT_MISMATCH", 15_000)
    assert await shop.stock(mug) == 4 and len(shop.orders.orders) == 1
    assert [r.order_id for r in shop.product_state.reservations.values()] == [next(iter(shop.orders.orders))]


async def test_a_price_that_changes_again_during_the_placement_answers_price_changed(shop: Shop) -> None:
    mug = await shop.product(12_000)
    await shop.place(mug, 12_000)
    await shop.products.update_product(mug, price=15_000)

    async def change_again() -> None:
        shop.catalog.after_read = None
        await shop.products.update_product(mug, price=16_000)

    shop.catalog.after_read = change_again  # right after the fresh read of 15,000
    err = await refused(shop, mug, 15_000)

    assert (err.code, err.extra) == ("PRICE_CHANGED", {"product_id": mug, "price": 16_000})
    assert status_of(err.code) == 409
    assert await shop.stock(mug) == 4 and len(shop.orders.orders) == 1
    assert (await shop.place(mug, 16_000)).total_amount == 16_000


async def test_a_change_the_product_service_announces_is_forgotten_at_once(shop: Shop) -> None:
    mug = await shop.product(12_000)
    await shop.place(mug, 12_000)
    await shop.products.update_product(mug, price=15_000)
    [changed] = shop.product_state.outbox
    assert (changed.type, changed.order_id, changed.payload["price"]) == ("ProductChanged", mug, 15_000)

    await shop.invalidation.handle_batch([changed])  # as product.events delivers it

    err = await refused(shop, mug, 12_000)  # the old price, refused from the new one at once
    assert (err.code, err.extra.get("expected_total")) == ("AMOUNT_MISMATCH", 15_000)
    assert shop.catalog.reservations == 1  # the first order's: no reservation tried at the stale price
    assert (await shop.place(mug, 15_000)).total_amount == 15_000
    assert shop.catalog.reads == [[mug], [mug]]


async def test_a_product_taken_off_sale_is_refused_though_kept_on_sale(shop: Shop) -> None:
    mug = await shop.product(12_000)
    await shop.place(mug, 12_000)
    await shop.products.update_product(mug, status="STOPPED")

    err = await refused(shop, mug, 12_000)

    assert (err.code, err.extra) == ("PRODUCT_NOT_ON_SALE", {"product_id": mug})
    assert await shop.stock(mug) == 4 and len(shop.orders.orders) == 1
    await refused(shop, mug, 12_000)  # what was kept is forgotten: the product service is asked again
    assert len(shop.catalog.reads) == 2


async def test_a_product_back_on_sale_is_ordered_though_kept_off_sale(shop: Shop) -> None:
    mug = await shop.product(12_000)
    await shop.products.update_product(mug, status="STOPPED")
    await refused(shop, mug, 12_000)  # kept as not on sale
    await shop.products.update_product(mug, status="ON_SALE")

    order = await shop.place(mug, 12_000)

    assert order.total_amount == 12_000 and await shop.stock(mug) == 4


class SlowCatalog(FakeCatalog):
    """A fake catalog that counts reads and can hold one read until released."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.hold: asyncio.Event | None = None

    async def get_products(self, ids: Sequence[str], fresh: bool = False) -> list[ProductSnapshot]:
        self.reads += 1
        found = await super().get_products(ids)
        if self.hold is not None:
            hold, self.hold = self.hold, None
            await hold.wait()
        return found


async def test_the_cache_keeps_at_most_its_size_dropping_the_least_recently_used() -> None:
    inner, clock = SlowCatalog(), ManualClock(START)
    for name in "abc":
        inner.add(f"prd_{name}", 1_000)
    cache = CachedCatalog(inner, MemoryCache("catalog", clock, 2), ttl_seconds=TTL)

    await cache.get_products(["prd_a", "prd_b"])
    await cache.get_products(["prd_a"])  # a is now the most recently used
    await cache.get_products(["prd_c"])  # b goes
    assert inner.reads == 2
    assert [p.cached for p in await cache.get_products(["prd_a", "prd_c"])] == [True, True]
    await cache.get_products(["prd_b"])
    assert inner.reads == 3


async def test_a_read_begun_before_a_fresh_one_does_not_keep_its_older_answer() -> None:
    inner, clock = SlowCatalog(), ManualClock(START)
    inner.add("prd_a", 1_000)
    cache = CachedCatalog(inner, MemoryCache("catalog", clock, 10), ttl_seconds=TTL)
    inner.hold = held = asyncio.Event()
    slow = asyncio.create_task(cache.get_products(["prd_a"]))
    await asyncio.sleep(0)  # it has read 1,000 and waits
    inner.add("prd_a", 1_200)

    assert [p.price for p in await cache.get_products(["prd_a"], fresh=True)] == [1_200]
    held.set()
    assert [p.price for p in await slow] == [1_000]
    assert [(p.price, p.cached) for p in await cache.get_products(["prd_a"])] == [(1_200, True)]
