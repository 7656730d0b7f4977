"""Builds the real ProductService on the in-memory fakes and a manual clock."""

from __future__ import annotations

import pytest

from market.kernel.clock import ManualClock
from market.product.adapters.memory import ProductState, memory_uow
from market.product.domain import Product
from market.product.use_cases import ProductService


@pytest.fixture
def state() -> ProductState:
    return ProductState()


@pytest.fixture
def products(state: ProductState) -> ProductService:
    return ProductService(uow=memory_uow(state), clock=ManualClock())


@pytest.fixture
async def mug(products: ProductService) -> Product:
    seller = await products.create_seller("Cafe Seoul")
    return await products.create_product(seller.id, "Mug", 12_000, 5)


@pytest.fixture
async def tea(products: ProductService, mug: Product) -> Product:
    return await products.create_product(mug.seller_id, "Tea", 8_000, 2)
