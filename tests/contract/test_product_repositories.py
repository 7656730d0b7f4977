"""The product repositories behave the same in memory and in SQL (SQLite): the fakes are honest."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from market.infra.batching import BatchWriter
from market.infra.migrations import migrate
from market.kernel.clock import ManualClock
from market.kernel.errors import DomainError
from market.product.adapters.memory import memory_uow
from market.product.adapters.migrations import HISTORY as MIGRATIONS
from market.product.adapters.sql import sql_uow, sql_writer
from market.product.domain import RELEASED, RESERVED, Product, Reservation, Seller
from market.product.ports import UnitOfWork
from market.product.use_cases import ProductService
from tests.contract.backends import SQL_BACKENDS, sql_database
from tests.events import event

UoW = Callable[[], AbstractAsyncContextManager[UnitOfWork]]
T0 = ManualClock().now()
T1 = T0 + timedelta(minutes=1)


@pytest.fixture(params=["memory", *SQL_BACKENDS])
async def uow(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[UoW]:
    if request.param == "memory":
        yield memory_uow()
        return
    async with sql_database(request.param, tmp_path, "product") as db:
        await migrate(db, MIGRATIONS)
        yield sql_uow(db, ManualClock())


def product(n: int = 1, stock: int = 5, status: str = "ON_SALE") -> Product:
    return Product(f"prd_{n:03d}", "sel_001", f"Product {n}", 1_000 * n, stock, stock, status, T0, T0)


def held(order_id: str, product_id: str, quantity: int) -> Reservation:
    return Reservation(order_id, product_id, quantity, RESERVED, T0)


async def test_sellers_and_products_read_back_as_written(uow: UoW) -> None:
    async with uow() as w:
        await w.sellers.add(Seller("sel_001", "Cafe Seoul", T0))
        for n in (1, 2, 3):
            await w.products.add(product(n))
    async with uow() as w:
        assert await w.sellers.get("sel_001") == Seller("sel_001", "Cafe Seoul", T0)
        assert await w.sellers.get("sel_nobody") is None
        assert await w.products.get("prd_002", for_update=True) == product(2)
        assert await w.products.get("prd_nobody") is None
        many = await w.products.get_many(["prd_003", "prd_nobody", "prd_001"])
        assert sorted(many, key=lambda p: p.id) == [product(1), product(3)]
        assert await w.products.get_many([]) == []


async def test_the_catalog_pages_newest_first(uow: UoW) -> None:
    async with uow() as w:
        for n in (1, 2, 3):
            await w.products.add(product(n))
    async with uow() as w:
        first = await w.products.newest(2, None)
        rest = await w.products.newest(2, first[-1].id)
    assert [p.id for p in first] == ["prd_003", "prd_002"]
    assert rest == [product(1)]


async def test_a_saved_product_keeps_every_change(uow: UoW) -> None:
    async with uow() as w:
        await w.products.add(product(1))
    changed = product(1).changed(T1, price=9_999, stock=8, status="STOPPED")
    async with uow() as w:
        await w.products.save(changed)
    async with uow() as w:
        assert await w.products.get("prd_001") == changed
    assert (changed.stock, changed.stock_received, changed.updated_at) == (8, 8, T1)


async def test_stock_is_taken_only_when_there_is_enough(uow: UoW) -> None:
    async with uow() as w:
        await w.products.add(product(1, stock=3))
        assert await w.products.take_stock("prd_001", 2, T1)
        assert not await w.products.take_stock("prd_001", 2, T1)
        assert await w.products.take_stock("prd_001", 1, T1)
        assert not await w.products.take_stock("prd_nobody", 1, T1)
        await w.products.put_back("prd_001", 2, T1)
    async with uow() as w:
        found = await w.products.get("prd_001")
    assert found is not None and (found.stock, found.stock_received, found.updated_at) == (2, 3, T1)


async def test_a_reservation_is_released_once(uow: UoW) -> None:
    async with uow() as w:
        await w.reservations.add(
            [held("ord_1", "prd_002", 2), held("ord_1", "prd_001", 1), held("ord_2", "prd_001", 4)]
        )
    async with uow() as w:
        assert [r.product_id for r in await w.reservations.of_order("ord_1", for_update=True)] == [
            "prd_001",
            "prd_002",
        ]
        assert await w.reservations.release("ord_1", "prd_001", T1)
        assert not await w.reservations.release("ord_1", "prd_001", T1)
        assert not await w.reservations.release("ord_9", "prd_001", T1)
    async with uow() as w:
        first, second = await w.reservations.of_order("ord_1")
        assert first == Reservation("ord_1", "prd_001", 1, RELEASED, T0, T1)
        assert second == held("ord_1", "prd_002", 2)
        assert await w.reservations.of_order("ord_9") == []


async def test_an_event_is_claimed_once(uow: UoW) -> None:
    failed = event("OrderFailed", "ord_1", T0, member_id="mem_1", reason="PG_DECLINED")
    async with uow() as w:
        assert await w.inbox.claim(failed)
        assert not await w.inbox.claim(failed)
    async with uow() as w:
        assert not await w.inbox.claim(failed)


async def test_a_block_that_raises_leaves_nothing_behind(uow: UoW) -> None:
    async with uow() as w:
        await w.products.add(product(1))
    with pytest.raises(RuntimeError):
        async with uow() as w:
            assert await w.products.take_stock("prd_001", 5, T1)
            await w.reservations.add([held("ord_1", "prd_001", 5)])
            await w.inbox.claim(event("OrderFailed", "ord_1", T0, member_id="m", reason="x"))
            await w.sellers.add(Seller("sel_001", "Cafe Seoul", T0))
            raise RuntimeError("crash before commit")
    async with uow() as w:
        assert await w.products.get("prd_001") == product(1)
        assert await w.reservations.of_order("ord_1") == []
        assert await w.sellers.get("sel_001") is None


async def test_fifty_orders_race_for_the_last_unit_and_one_wins(uow: UoW) -> None:
    service = ProductService(uow=uow, clock=ManualClock())
    seller = await service.create_seller("Cafe Seoul")
    mug = await service.create_product(seller.id, "Mug", 12_000, 1)

    results = await asyncio.gather(
        *(service.reserve_stock(f"ord_{i}", [(mug.id, 1)]) for i in range(50)), return_exceptions=True
    )

    assert results.count(None) == 1
    assert all(isinstance(r, DomainError) and r.code == "OUT_OF_STOCK" for r in results if r is not None)
    after = await service.get_product(mug.id)
    assert after is not None and (after.stock, after.stock_received) == (0, 1)


async def test_all_or_none_and_release_once_through_the_service(uow: UoW) -> None:
    service = ProductService(uow=uow, clock=ManualClock())
    seller = await service.create_seller("Cafe Seoul")
    mug = await service.create_product(seller.id, "Mug", 12_000, 5)
    tea = await service.create_product(seller.id, "Tea", 8_000, 1)

    with pytest.raises(DomainError):
        await service.reserve_stock("ord_1", [(mug.id, 5), (tea.id, 2)])
    await service.reserve_stock("ord_2", [(mug.id, 4), (tea.id, 1)])
    await service.reserve_stock("ord_2", [(mug.id, 4), (tea.id, 1)])
    ended = event("OrderCancelled", "ord_2", T0, member_id="mem_1")
    await asyncio.gather(service.handle(ended), service.handle(ended), service.release_stock("ord_2"))

    assert [(p.stock, p.stock_received) for p in await service.get_products([mug.id, tea.id])] == [
        (5, 5),
        (1, 1),
    ]


async def test_a_partial_cancellation_gives_back_its_quantities_once_and_the_rest_at_the_end(
    uow: UoW,
) -> None:
    service = ProductService(uow=uow, clock=ManualClock())
    seller = await service.create_seller("Cafe Seoul")
    mug = await service.create_product(seller.id, "Mug", 12_000, 5)
    tea = await service.create_product(seller.id, "Tea", 8_000, 3)
    await service.reserve_stock("ord_1", [(mug.id, 4), (tea.id, 3)])
    partly = event(
        "OrderPartiallyCancelled",
        "ord_1",
        T0,
        member_id="mem_1",
        cancellation_id="cnl_1",
        items=[{"product_id": mug.id, "quantity": 1}, {"product_id": tea.id, "quantity": 3}],
        refund_amount=36_000,
        refunds=[{"method": "PG", "amount": 36_000}],
    )
    await asyncio.gather(service.handle(partly), service.handle(partly))
    assert [p.stock for p in await service.get_products([mug.id, tea.id])] == [2, 3]
    async with uow() as w:
        held_now = {r.product_id: (r.quantity, r.status) for r in await w.reservations.of_order("ord_1")}
    assert held_now == {mug.id: (3, "RESERVED"), tea.id: (0, "RESERVED")}  # held until the order ends
    await service.handle(event("OrderCancelled", "ord_1", T0, member_id="mem_1"))
    assert [(p.stock, p.stock_received) for p in await service.get_products([mug.id, tea.id])] == [
        (5, 5),
        (3, 3),
    ]


@pytest.fixture(params=SQL_BACKENDS)
async def batched(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[ProductService, BatchWriter[Any]]]:
    """The service whose reservations are written through the batched write path (infra/batching.py)."""
    async with sql_database(request.param, tmp_path, "product") as db:
        await migrate(db, MIGRATIONS)
        writer = sql_writer(db, ManualClock())
        yield ProductService(uow=sql_uow(db, ManualClock()), clock=ManualClock(), writes=writer), writer


async def test_reservations_written_together_each_take_their_own_stock_or_none(
    batched: tuple[ProductService, BatchWriter[Any]],
) -> None:
    service, writer = batched
    seller = await service.create_seller("Cafe Seoul")
    mug = await service.create_product(seller.id, "Mug", 12_000, 5)
    tea = await service.create_product(seller.id, "Tea", 8_000, 1)
    # ord_t takes the last tea, then wants more mugs than are left: its tea must not stay taken.
    calls = [(f"ord_{i}", [(mug.id, 1)]) for i in range(8)]
    calls.insert(3, ("ord_t", [(tea.id, 1), (mug.id, 5)]))

    results = await asyncio.gather(
        *(service.reserve_stock(order_id, lines) for order_id, lines in calls), return_exceptions=True
    )

    assert [r if r is None else getattr(r, "code", r) for r in results] == [
        None, None, None, "OUT_OF_STOCK", None, None, "OUT_OF_STOCK", "OUT_OF_STOCK", "OUT_OF_STOCK"
    ]  # fmt: skip
    assert [(p.stock, p.stock_received) for p in await service.get_products([mug.id, tea.id])] == [
        (0, 5),
        (1, 1),
    ]
    assert writer.batches < writer.bodies  # they shared transactions
