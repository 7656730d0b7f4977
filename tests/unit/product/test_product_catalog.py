"""The catalog: sellers, products, price and stock changes, through ProductService on the fakes."""

from __future__ import annotations

import pytest

from market.kernel.errors import DomainError
from market.product.domain import Product
from market.product.use_cases import ProductService


async def test_a_new_product_is_on_sale_with_its_initial_stock(
    products: ProductService, mug: Product
) -> None:
    found = await products.get_product(mug.id)

    assert found == mug
    assert (mug.name, mug.price, mug.stock, mug.stock_received, mug.status) == (
        "Mug",
        12_000,
        5,
        5,
        "ON_SALE",
    )


async def test_a_product_needs_an_existing_seller(products: ProductService) -> None:
    with pytest.raises(DomainError) as caught:
        await products.create_product("sel_nobody", "Mug", 12_000, 5)

    assert caught.value.code == "SELLER_NOT_FOUND"
    assert await products.list_products() == []


@pytest.mark.parametrize(("price", "stock"), [(0, 5), (12_000, -1), (1_000_000_000_001, 5)])
async def test_a_product_with_a_bad_price_or_stock_is_refused(
    products: ProductService, mug: Product, price: int, stock: int
) -> None:
    with pytest.raises(DomainError) as caught:
        await products.create_product(mug.seller_id, "Cup", price, stock)

    assert caught.value.code == "VALIDATION_ERROR"


async def test_restocking_moves_the_received_total_by_the_same_amount(
    products: ProductService, mug: Product
) -> None:
    await products.reserve_stock("ord_1", [(mug.id, 2)])

    more = await products.update_product(mug.id, stock=10)
    less = await products.update_product(mug.id, stock=1)

    assert (more.stock, more.stock_received) == (10, 12)
    assert (less.stock, less.stock_received) == (1, 3)  # on hand 1 + 2 held by ord_1


async def test_price_and_status_change_without_touching_stock(products: ProductService, mug: Product) -> None:
    changed = await products.update_product(mug.id, price=15_000, status="STOPPED")

    assert (changed.price, changed.status, changed.stock) == (15_000, "STOPPED", 5)
    assert await products.get_product(mug.id) == changed


@pytest.mark.parametrize("change", [{"stock": -1}, {"price": 0}, {"status": "SOLD_OUT"}])
async def test_a_bad_change_changes_nothing(
    products: ProductService, mug: Product, change: dict[str, object]
) -> None:
    with pytest.raises(DomainError) as caught:
        await products.update_product(mug.id, **change)  # type: ignore[arg-type]

    assert caught.value.code == "VALIDATION_ERROR"
    assert await products.get_product(mug.id) == mug


async def test_changing_an_unknown_product_is_not_found(products: ProductService) -> None:
    with pytest.raises(DomainError) as caught:
        await products.update_product("prd_nobody", price=1)

    assert caught.value.code == "NOT_FOUND"


async def test_the_catalog_pages_newest_first(products: ProductService, mug: Product, tea: Product) -> None:
    cup = await products.create_product(mug.seller_id, "Cup", 3_000, 1)

    first = await products.list_products(limit=2)
    rest = await products.list_products(limit=2, cursor=first[-1].id)

    assert [p.name for p in first] == ["Cup", "Tea"]
    assert rest == [mug]
    assert await products.get_products(["prd_nobody", mug.id, cup.id, mug.id]) == [mug, cup]
