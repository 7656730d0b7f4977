"""The notification worker's Recipients port, served by the member service: in process and over gRPC alike.

Both adapters wrap the same real MemberService (on its in-memory fakes); the gRPC one talks to the member
gRPC server over a loopback socket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from market.infra.grpc import CallPolicy, open_channel, start_server
from market.kernel.errors import Unavailable
from market.member.adapters.grpc_server import MemberGrpcService
from market.member.use_cases import MemberService
from market.notification.adapters.grpc_client import GrpcRecipients
from market.notification.adapters.members import InProcessRecipients
from market.notification.domain import Recipient
from market.notification.ports import Recipients
from tests.unit.notification.fakes import member_service


@pytest.fixture
def members() -> MemberService:
    return member_service()


@pytest.fixture(params=["in-process", "grpc"])
async def recipients(request: pytest.FixtureRequest, members: MemberService) -> AsyncIterator[Recipients]:
    if request.param == "in-process":
        yield InProcessRecipients(members)
        return
    server = await start_server([MemberGrpcService(members)])
    channel = open_channel(f"127.0.0.1:{server.port}")
    yield GrpcRecipients(channel)
    await channel.close()
    await server.stop(0)


async def test_a_member_is_written_to_at_its_address_in_its_language(
    members: MemberService, recipients: Recipients
) -> None:
    kim = await members.sign_up("Kim@Example.com", "김민지", "correct horse")
    jo = await members.sign_up("jo@example.com", "<Jo>", "correct horse", locale="en")

    assert await recipients.recipient(kim.id) == Recipient("kim@example.com", "김민지", "ko")
    assert await recipients.recipient(jo.id) == Recipient("jo@example.com", "<Jo>", "en")
    assert await recipients.recipient("mem_nobody") is None


async def test_a_changed_locale_is_read_at_once(members: MemberService, recipients: Recipients) -> None:
    kim = await members.sign_up("kim@example.com", "Kim", "correct horse")
    await members.update_profile(kim.id, locale="en")

    assert await recipients.recipient(kim.id) == Recipient("kim@example.com", "Kim", "en")


async def test_a_member_service_that_does_not_answer_is_unavailable() -> None:
    server = await start_server([MemberGrpcService(None)])
    port = server.port
    await server.stop(0)
    channel = open_channel(f"127.0.0.1:{port}")
    try:
        with pytest.raises(Unavailable):
            await GrpcRecipients(channel, CallPolicy(deadline=0.5)).recipient("mem_1")
    finally:
        await channel.close()
