"""order's Members, Catalog and Coupons ports, answered by the other services over gRPC.

The remote twins of market.bootstrap.inprocess: same methods, same results, same errors. Every call has one
deadline for itself and its retries (CallPolicy); a service that cannot answer in time raises Unavailable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import grpc

from market.grpc_gen.v1 import (
    member_pb2,
    member_pb2_grpc,
    payment_pb2,
    payment_pb2_grpc,
    product_pb2,
    product_pb2_grpc,
)
from market.infra.grpc import CallPolicy, call
from market.kernel.coupons import CouponDefinition, IssuedCoupon
from market.order.ports import MemberSnapshot, ProductSnapshot


class GrpcMembers:
    """order's `Members` port, served by the member service."""

    def __init__(self, channel: grpc.aio.Channel, policy: CallPolicy | None = None) -> None:
        self._stub = member_pb2_grpc.MemberServiceStub(channel)  # type: ignore[no-untyped-call]
        self._policy = policy or CallPolicy()

    async def get_member(self, member_id: str) -> MemberSnapshot | None:
        request = member_pb2.GetMemberRequest(member_id=member_id)
        m: member_pb2.GetMemberReply = await call(
            self._stub.GetMember, request, service="member", policy=self._policy
        )
        if not m.found:
            return None
        return MemberSnapshot(id=m.id, active=m.status == "ACTIVE", point_balance=m.point_balance)


class GrpcCatalog:
    """order's `Catalog` port, served by the product service."""

    def __init__(self, channel: grpc.aio.Channel, policy: CallPolicy | None = None) -> None:
        self._stub = product_pb2_grpc.ProductServiceStub(channel)  # type: ignore[no-untyped-call]
        self._policy = policy or CallPolicy()

    async def get_products(self, ids: Sequence[str], fresh: bool = False) -> list[ProductSnapshot]:
        # Always fresh: this adapter keeps nothing.
        request = product_pb2.GetProductsRequest(ids=list(ids))
        reply: product_pb2.GetProductsReply = await call(
            self._stub.GetProducts, request, service="product", policy=self._policy
        )
        return [
            ProductSnapshot(
                id=p.id, seller_id=p.seller_id, name=p.name, price=p.price, on_sale=p.status == "ON_SALE"
            )
            for p in reply.products
        ]

    async def reserve_stock(
        self, order_id: str, lines: Sequence[tuple[str, int]], prices: Mapping[str, int] | None = None
    ) -> None:
        prices = prices or {}
        request = product_pb2.ReserveStockRequest(
            order_id=order_id,
            lines=[
                product_pb2.StockLine(product_id=pid, quantity=qty, unit_price=prices.get(pid))
                for pid, qty in lines
            ],
        )
        await call(self._stub.ReserveStock, request, service="product", policy=self._policy)

    async def release_stock(self, order_id: str) -> None:
        request = product_pb2.ReleaseStockRequest(order_id=order_id)
        await call(self._stub.ReleaseStock, request, service="product", policy=self._policy)


class GrpcCoupons:
    """order's `Coupons` port, served by the payment service."""

    def __init__(self, channel: grpc.aio.Channel, policy: CallPolicy | None = None) -> None:
        self._stub = payment_pb2_grpc.PaymentServiceStub(channel)  # type: ignore[no-untyped-call]
        self._policy = policy or CallPolicy()

    async def get_issued_coupon(self, coupon_id: str) -> IssuedCoupon | None:
        request = payment_pb2.GetIssuedCouponRequest(coupon_id=coupon_id)
        reply: payment_pb2.GetIssuedCouponReply = await call(
            self._stub.GetIssuedCoupon, request, service="payment", policy=self._policy
        )
        return issued_coupon(reply.coupon) if reply.found else None


def issued_coupon(c: payment_pb2.IssuedCoupon) -> IssuedCoupon:
    d = c.definition
    definition = CouponDefinition(
        id=d.id,
        name=d.name,
        discount_type=d.discount_type,
        discount_value=d.discount_value,
        max_discount=d.max_discount if d.HasField("max_discount") else None,
        min_order_amount=d.min_order_amount,
        valid_from=datetime.fromisoformat(d.valid_from),
        valid_until=datetime.fromisoformat(d.valid_until),
    )
    order_id = c.order_id if c.HasField("order_id") else None
    return IssuedCoupon(
        id=c.id, definition=definition, member_id=c.member_id, status=c.status, order_id=order_id
    )
