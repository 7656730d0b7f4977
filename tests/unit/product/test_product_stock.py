"""Stock an order takes and gives back: all or none, once per order, and once per event."""

from __future__ import annotations

import asyncio

import pytest

from market.kernel.clock import ManualClock
from market.kernel.errors import DomainError
from market.product.adapters.memory import ProductState
from market.product.domain import Product
from market.product.use_cases import ProductService
from tests.events import event


async def stock_of(products: ProductService, product: Product) -> int:
    found = await products.get_product(product.id)
    assert found is not None
    return found.stock


def assert_stock_adds_up(state: ProductState) -> None:
    """What the auditor checks: received = on hand + held, per product, never negative."""
    for p in state.products.values():
        held = sum(r.quantity for r in state.reservations.values() if r.product_id == p.id and r.held)
        assert p.stock_received == p.stock + held and p.stock >= 0


async def test_an_order_takes_all_its_lines(
    products: ProductService, mug: Product, tea: Product, state: ProductState
) -> None:
    await products.reserve_stock("ord_1", [(mug.id, 2), (tea.id, 1)])

    assert (await stock_of(products, mug), await stock_of(products, tea)) == (3, 1)
    assert_stock_adds_up(state)


async def test_one_short_line_takes_nothing_at_all(
    products: ProductService, mug: Product, tea: Product, state: ProductState
) -> None:
    with pytest.raises(DomainError) as caught:
        await products.reserve_stock("ord_1", [(mug.id, 2), (tea.id, 3)])

    assert caught.value.code == "OUT_OF_STOCK"
    assert caught.value.extra == {"product_id": tea.id}
    assert (await stock_of(products, mug), await stock_of(products, tea)) == (5, 2)
    assert state.reservations == {}


async def test_a_retried_reservation_takes_the_stock_once(
    products: ProductService, mug: Product, state: ProductState
) -> None:
    await products.reserve_stock("ord_1", [(mug.id, 2)])
    await products.reserve_stock("ord_1", [(mug.id, 2)])

    assert await stock_of(products, mug) == 3
    assert_stock_adds_up(state)


async def test_fifty_orders_race_for_the_last_unit_and_one_wins(
    products: ProductService, mug: Product
) -> None:
    await products.update_product(mug.id, stock=1)

    results = await asyncio.gather(
        *(products.reserve_stock(f"ord_{i}", [(mug.id, 1)]) for i in range(50)), return_exceptions=True
    )

    assert results.count(None) == 1
    assert {r.code for r in results if isinstance(r, DomainError)} == {"OUT_OF_STOCK"}
    assert await stock_of(products, mug) == 0


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([], "TOO_MANY_ITEMS"),
        ([("MUG", 0)], "INVALID_QUANTITY"),
        ([("MUG", 1000)], "INVALID_QUANTITY"),
        ([("MUG", 1), ("MUG", 1)], "DUPLICATE_PRODUCT"),
        ([("prd_nobody", 1)], "PRODUCT_NOT_FOUND"),
    ],
)
async def test_malformed_lines_take_nothing(
    products: ProductService, mug: Product, lines: list[tuple[str, int]], code: str
) -> None:
    lines = [(mug.id if p == "MUG" else p, q) for p, q in lines]

    with pytest.raises(DomainError) as caught:
        await products.reserve_stock("ord_1", lines)

    assert caught.value.code == code
    assert await stock_of(products, mug) == 5


async def test_a_stopped_product_cannot_be_reserved(products: ProductService, mug: Product) -> None:
    await products.update_product(mug.id, status="STOPPED")

    with pytest.raises(DomainError) as caught:
        await products.reserve_stock("ord_1", [(mug.id, 1)])

    assert caught.value.code == "PRODUCT_NOT_ON_SALE"


async def test_a_release_gives_the_stock_back_once(
    products: ProductService, mug: Product, tea: Product, state: ProductState
) -> None:
    await products.reserve_stock("ord_1", [(mug.id, 2), (tea.id, 2)])

    assert await products.release_stock("ord_1") is True
    assert await products.release_stock("ord_1") is False
    assert (await stock_of(products, mug), await stock_of(products, tea)) == (5, 2)
    assert_stock_adds_up(state)


async def test_a_released_order_cannot_take_stock_again(products: ProductService, mug: Product) -> None:
    await products.reserve_stock("ord_1", [(mug.id, 2)])
    await products.release_stock("ord_1")

    with pytest.raises(DomainError) as caught:
        await products.reserve_stock("ord_1", [(mug.id, 2)])

    assert caught.value.code == "STOCK_RELEASED"
    assert await stock_of(products, mug) == 5


async def test_a_reservation_arriving_after_its_release_takes_nothing(
    products: ProductService, mug: Product, state: ProductState
) -> None:
    assert await products.release_stock("ord_late") is False

    with pytest.raises(DomainError):
        await products.reserve_stock("ord_late", [(mug.id, 2)])

    assert await stock_of(products, mug) == 5
    assert_stock_adds_up(state)


@pytest.mark.parametrize("type_", ["OrderFailed", "OrderCancelled"])
async def test_a_failed_or_cancelled_order_gets_its_stock_back_once_per_event(
    products: ProductService, mug: Product, state: ProductState, type_: str
) -> None:
    await products.reserve_stock("ord_1", [(mug.id, 3)])
    ended = event(type_, "ord_1", ManualClock().now(), member_id="mem_1")

    await products.handle(ended)
    await products.update_product(mug.id, stock=4)  # the admin restocks in between
    await products.handle(ended)  # redelivered

    assert await stock_of(products, mug) == 4
    assert state.inbox == {ended.event_id}
    assert_stock_adds_up(state)


async def test_other_order_events_leave_the_stock_alone(
    products: ProductService, mug: Product, state: ProductState
) -> None:
    await products.reserve_stock("ord_1", [(mug.id, 3)])

    await products.handle(event("OrderCreated", "ord_1", ManualClock().now(), member_id="mem_1"))
    await products.handle(event("PaymentCompleted", "ord_1", ManualClock().now(), member_id="mem_1"))

    assert await stock_of(products, mug) == 2
    assert state.inbox == set()
