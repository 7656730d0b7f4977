"""The payment service's synchronous API over gRPC: the issued coupon that order checks before it writes.

Datetimes travel as ISO 8601 strings with their offset, so they come back equal, tzinfo included.
"""

from __future__ import annotations

from typing import Any

import grpc

from market.grpc_gen.v1 import payment_pb2, payment_pb2_grpc
from market.grpc_gen.v1.payment_pb2 import GetIssuedCouponReply, GetIssuedCouponRequest
from market.kernel.coupons import IssuedCoupon


class PaymentGrpcService(payment_pb2_grpc.PaymentServiceServicer):
    name = payment_pb2.DESCRIPTOR.services_by_name["PaymentService"].full_name

    def __init__(self, payments: Any) -> None:
        self._payments = payments

    def add_to(self, server: grpc.aio.Server) -> None:
        payment_pb2_grpc.add_PaymentServiceServicer_to_server(self, server)  # type: ignore[no-untyped-call]

    async def GetIssuedCoupon(
        self, request: GetIssuedCouponRequest, context: grpc.aio.ServicerContext
    ) -> GetIssuedCouponReply:
        coupon = await self._payments.get_issued_coupon(request.coupon_id)
        if coupon is None:
            return GetIssuedCouponReply(found=False)
        return GetIssuedCouponReply(found=True, coupon=issued_coupon_message(coupon))


def issued_coupon_message(coupon: IssuedCoupon) -> payment_pb2.IssuedCoupon:
    d = coupon.definition
    definition = payment_pb2.CouponDefinition(
        id=d.id,
        name=d.name,
        discount_type=d.discount_type,
        discount_value=d.discount_value,
        max_discount=d.max_discount,
        min_order_amount=d.min_order_amount,
        valid_from=d.valid_from.isoformat(),
        valid_until=d.valid_until.isoformat(),
    )
    return payment_pb2.IssuedCoupon(
        id=coupon.id,
        definition=definition,
        member_id=coupon.member_id,
        status=coupon.status,
        order_id=coupon.order_id,
    )
