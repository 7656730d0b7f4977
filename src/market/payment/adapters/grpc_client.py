"""payment's PointsAccount port, answered by the member service over gRPC.

The remote twin of market.bootstrap.inprocess.InProcessMembers (for payment): same methods, results and
errors. UsePoints and RefundPoints are keyed by order id, so a retry after a lost answer changes nothing.
"""

from __future__ import annotations

import grpc

from market.grpc_gen.v1 import member_pb2, member_pb2_grpc
from market.infra.grpc import CallPolicy, call
from market.kernel.errors import NotFound


class GrpcPointsAccount:
    """payment's `PointsAccount` port, served by the member service."""

    def __init__(self, channel: grpc.aio.Channel, policy: CallPolicy | None = None) -> None:
        self._stub = member_pb2_grpc.MemberServiceStub(channel)  # type: ignore[no-untyped-call]
        self._policy = policy or CallPolicy()

    async def balance(self, member_id: str) -> int:
        request = member_pb2.GetMemberRequest(member_id=member_id)
        m: member_pb2.GetMemberReply = await call(
            self._stub.GetMember, request, service="member", policy=self._policy
        )
        if not m.found:
            raise NotFound("member")
        return m.point_balance

    async def use_points(self, member_id: str, order_id: str, amount: int) -> None:
        request = member_pb2.UsePointsRequest(member_id=member_id, order_id=order_id, amount=amount)
        await call(self._stub.UsePoints, request, service="member", policy=self._policy)

    async def refund_points(
        self, member_id: str, order_id: str, amount: int | None = None, refund_id: str = ""
    ) -> int:
        request = member_pb2.RefundPointsRequest(
            member_id=member_id, order_id=order_id, amount=amount or 0, refund_id=refund_id
        )
        reply: member_pb2.RefundPointsReply = await call(
            self._stub.RefundPoints, request, service="member", policy=self._policy
        )
        return reply.refunded
