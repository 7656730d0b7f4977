"""A reservation carries the prices its order was priced at: a stale one takes nothing (PRICE_CHANGED)."""

from __future__ import annotations

import pytest

from market.kernel.errors import DomainError
from market.product.adapters.memory import ProductState
from market.product.domain import Product
from market.product.use_cases import ProductService


async def stock_of(products: ProductService, product: Product) -> int:
    found = await products.get_product(product.id)
    assert found is not None
    return found.stock


async def test_a_reservation_at_a_changed_price_takes_nothing(
    products: ProductService, mug: Product, tea: Product, state: ProductState
) -> None:
    await products.update_product(mug.id, price=13_000)

    with pytest.raises(DomainError) as caught:
        await products.reserve_stock("ord_1", [(mug.id, 2), (tea.id, 1)], {mug.id: 12_000, tea.id: 8_000})

    assert (caught.value.code, caught.value.extra) == (
        "PRICE_CHANGED",
        {"product_id": mug.id, "price": 13_000},
    )
    assert (await stock_of(products, mug), await stock_of(products, tea)) == (5, 2)
    assert state.reservations == {}


async def test_the_same_order_priced_again_reserves_at_the_current_price(
    products: ProductService, mug: Product, state: ProductState
) -> None:
    await products.update_product(mug.id, price=13_000)
    with pytest.raises(DomainError):
        await products.reserve_stock("ord_1", [(mug.id, 2)], {mug.id: 12_000})

    await products.reserve_stock("ord_1", [(mug.id, 2)], {mug.id: 13_000})  # not STOCK_RELEASED

    assert await stock_of(products, mug) == 3


async def test_a_product_off_sale_is_refused_before_its_price_is_looked_at(
    products: ProductService, mug: Product
) -> None:
    await products.update_product(mug.id, price=13_000, status="STOPPED")

    with pytest.raises(DomainError) as caught:
        await products.reserve_stock("ord_1", [(mug.id, 1)], {mug.id: 12_000})

    assert (caught.value.code, caught.value.extra) == ("PRODUCT_NOT_ON_SALE", {"product_id": mug.id})
    assert await stock_of(products, mug) == 5


async def test_a_held_reservation_retried_after_a_price_change_still_succeeds_once(
    products: ProductService, mug: Product
) -> None:
    await products.reserve_stock("ord_1", [(mug.id, 2)], {mug.id: 12_000})
    await products.update_product(mug.id, price=13_000)

    await products.reserve_stock("ord_1", [(mug.id, 2)], {mug.id: 12_000})  # the order was priced before

    assert await stock_of(products, mug) == 3
