"""The product service's synchronous API over gRPC, served by ProductService (SPEC §3).

DomainErrors raised here (OUT_OF_STOCK with its product_id, ...) become gRPC statuses in the server's
interceptor (market.infra.grpc).
"""

from __future__ import annotations

from typing import Any

import grpc

from market.grpc_gen.v1 import product_pb2, product_pb2_grpc
from market.grpc_gen.v1.product_pb2 import (
    GetProductsReply,
    GetProductsRequest,
    Product,
    ReleaseStockReply,
    ReleaseStockRequest,
    ReserveStockReply,
    ReserveStockRequest,
)


class ProductGrpcService(product_pb2_grpc.ProductServiceServicer):
    name = product_pb2.DESCRIPTOR.services_by_name["ProductService"].full_name

    def __init__(self, products: Any) -> None:
        self._products = products

    def add_to(self, server: grpc.aio.Server) -> None:
        product_pb2_grpc.add_ProductServiceServicer_to_server(self, server)  # type: ignore[no-untyped-call]

    async def GetProducts(
        self, request: GetProductsRequest, context: grpc.aio.ServicerContext
    ) -> GetProductsReply:
        found = await self._products.get_products(list(request.ids))
        return GetProductsReply(
            products=[
                Product(
                    id=p.id, seller_id=p.seller_id, name=p.name, price=p.price, stock=p.stock, status=p.status
                )
                for p in found
            ]
        )

    async def ReserveStock(
        self, request: ReserveStockRequest, context: grpc.aio.ServicerContext
    ) -> ReserveStockReply:
        lines = [(line.product_id, line.quantity) for line in request.lines]
        prices = {line.product_id: line.unit_price for line in request.lines if line.HasField("unit_price")}
        await self._products.reserve_stock(request.order_id, lines, prices)
        return ReserveStockReply()

    async def ReleaseStock(
        self, request: ReleaseStockRequest, context: grpc.aio.ServicerContext
    ) -> ReleaseStockReply:
        released = await self._products.release_stock(request.order_id)
        return ReleaseStockReply(released=bool(released))
