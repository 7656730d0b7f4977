"""The Recipients port answered by the member service over gRPC (GetMember), the remote twin of
`members.InProcessRecipients`: same results; a member service that does not answer raises Unavailable."""

from __future__ import annotations

import grpc

from market.grpc_gen.v1 import member_pb2, member_pb2_grpc
from market.infra.grpc import CallPolicy, call
from market.notification.domain import DEFAULT_LOCALE, Recipient


class GrpcRecipients:
    def __init__(self, channel: grpc.aio.Channel, policy: CallPolicy | None = None) -> None:
        self._stub = member_pb2_grpc.MemberServiceStub(channel)  # type: ignore[no-untyped-call]
        self._policy = policy or CallPolicy()

    async def recipient(self, member_id: str) -> Recipient | None:
        request = member_pb2.GetMemberRequest(member_id=member_id)
        m: member_pb2.GetMemberReply = await call(
            self._stub.GetMember, request, service="member", policy=self._policy
        )
        if not m.found:
            return None
        # A member service older than the locale field answers "": the default language.
        return Recipient(email=m.email, name=m.name, locale=m.locale or DEFAULT_LOCALE)
