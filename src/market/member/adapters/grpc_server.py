"""The member service's synchronous API over gRPC, served by MemberService (SPEC §3).

DomainErrors raised here become gRPC statuses in the server's interceptor (market.infra.grpc).
"""

from __future__ import annotations

from typing import Any

import grpc

from market.grpc_gen.v1 import member_pb2, member_pb2_grpc
from market.grpc_gen.v1.member_pb2 import (
    GetMemberReply,
    GetMemberRequest,
    RefundPointsReply,
    RefundPointsRequest,
    UsePointsReply,
    UsePointsRequest,
)


class MemberGrpcService(member_pb2_grpc.MemberServiceServicer):
    name = member_pb2.DESCRIPTOR.services_by_name["MemberService"].full_name

    def __init__(self, members: Any) -> None:
        self._members = members

    def add_to(self, server: grpc.aio.Server) -> None:
        member_pb2_grpc.add_MemberServiceServicer_to_server(self, server)  # type: ignore[no-untyped-call]

    async def GetMember(self, request: GetMemberRequest, context: grpc.aio.ServicerContext) -> GetMemberReply:
        m = await self._members.get_member(request.member_id)
        if m is None:
            return GetMemberReply(found=False)
        return GetMemberReply(
            found=True,
            id=m.id,
            email=m.email,
            name=m.name,
            role=m.role,
            status=m.status,
            point_balance=m.point_balance,
            locale=m.locale,
        )

    async def UsePoints(self, request: UsePointsRequest, context: grpc.aio.ServicerContext) -> UsePointsReply:
        await self._members.use_points(request.member_id, request.order_id, request.amount)
        return UsePointsReply()

    async def RefundPoints(
        self, request: RefundPointsRequest, context: grpc.aio.ServicerContext
    ) -> RefundPointsReply:
        amount = request.amount or None  # 0: all the order holds
        refunded = await self._members.refund_points(
            request.member_id, request.order_id, amount, request.refund_id
        )
        return RefundPointsReply(refunded=refunded)
