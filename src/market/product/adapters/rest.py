"""The product REST API: the public catalog, and catalog and stock management for admins."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from market.kernel.errors import NotFound
from market.product.domain import MAX_PRICE, MAX_STOCK, Product
from market.product.use_cases import ProductService
from market.web.auth import Auth, Principal
from market.web.json import FastJSON, page
from market.web.problems import ApiError
from market.web.query import NO_LAG, PAGE_FILTERS, described

Price = Annotated[StrictInt, Field(ge=1, le=MAX_PRICE)]
Stock = Annotated[StrictInt, Field(ge=0, le=MAX_STOCK)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]


class SellerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class ProductBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seller_id: StrictStr = Field(min_length=1, max_length=64)
    name: Name
    price: Price
    stock: Stock


class ProductChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    price: Price | None = None
    stock: Stock | None = Field(None, description="the new stock on hand")
    status: Literal["ON_SALE", "STOPPED"] | None = None


def product_json(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "seller_id": product.seller_id,
        "name": product.name,
        "price": product.price,
        "stock": product.stock,
        "status": product.status,
    }


def router(service: ProductService, auth: Auth) -> APIRouter:
    api = APIRouter(tags=["products"], default_response_class=FastJSON)
    Admin = Annotated[Principal, Depends(auth.admin)]
    Limit = Annotated[int, Query(ge=1, le=100)]
    Cursor = Annotated[str | None, Query(max_length=64)]

    @api.get("/products", summary="The catalog, newest first (public)", **described(PAGE_FILTERS, NO_LAG))
    async def catalog(limit: Limit = 20, cursor: Cursor = None) -> dict[str, Any]:
        products = await service.list_products(limit + 1, cursor)
        return page(products, limit, product_json, lambda p: p.id)

    @api.get("/products/{product_id}", name="get_product", summary="One product (public)")
    async def one(product_id: str) -> dict[str, Any]:
        product = await service.get_product(product_id)
        if product is None:
            raise NotFound("product")
        return product_json(product)

    @api.post("/admin/sellers", status_code=201, summary="Register a seller (admin)")
    async def add_seller(body: SellerBody, _: Admin) -> dict[str, Any]:
        seller = await service.create_seller(body.name)
        return {"id": seller.id, "name": seller.name}

    @api.post("/admin/products", status_code=201, summary="Put a product on sale (admin)")
    async def add_product(
        body: ProductBody, _: Admin, request: Request, response: Response
    ) -> dict[str, Any]:
        product = await service.create_product(body.seller_id, body.name, body.price, body.stock)
        response.headers["Location"] = request.url_for("get_product", product_id=product.id).path
        return product_json(product)

    @api.patch("/admin/products/{product_id}", summary="Change price, stock on hand or status (admin)")
    async def change(product_id: str, body: ProductChange, _: Admin) -> dict[str, Any]:
        if body.price is None and body.stock is None and body.status is None:
            raise ApiError("VALIDATION_ERROR", "give at least one of price, stock, status")
        product = await service.update_product(product_id, body.price, body.stock, body.status)
        return product_json(product)

    return api
