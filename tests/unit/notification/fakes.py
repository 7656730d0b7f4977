"""Fakes of the notification worker's ports (a mailer and a member directory that can be taken down), the
real member service to serve the Recipients adapters, and the events the tests feed the worker."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from market.kernel.clock import ManualClock
from market.kernel.errors import Unavailable
from market.kernel.events import Envelope
from market.member.adapters.jwt import JwtTokenIssuer
from market.member.adapters.memory import memory_uow as member_memory_uow
from market.member.use_cases import MemberService
from market.notification.adapters.memory import NotificationState, memory_uow
from market.notification.adapters.templates import JinjaTemplates
from market.notification.domain import Backoff, Email, Recipient, Undeliverable
from market.notification.ports import Mailer
from market.notification.use_cases import NotificationService
from market.web.auth import TokenSettings

BACKOFF = Backoff(first=2.0, cap=60.0)
CLAIM_SECONDS = 30.0


class FakeMailer:
    """Keeps what it sent; `down` refuses like a mail server that is not there; `refused` addresses bounce."""

    def __init__(self) -> None:
        self.sent: list[Email] = []
        self.attempts = 0
        self.down = False
        self.refused: set[str] = set()
        self.delivered = asyncio.Event()

    async def send(self, email: Email) -> None:
        self.attempts += 1
        await asyncio.sleep(0)  # a real send yields: lets another sender interleave
        if self.down:
            raise ConnectionRefusedError("the mail server is down")
        if email.to.email in self.refused:
            raise Undeliverable(f"550 no such mailbox {email.to.email}")
        self.sent.append(email)
        self.delivered.set()


class PlainHasher:
    async def hash(self, password: str) -> str:
        return password

    async def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == password


def member_service() -> MemberService:
    """The real member service on its in-memory fakes: what the Recipients adapters serve in the tests."""
    return MemberService(
        uow=member_memory_uow(),
        clock=ManualClock(),
        hasher=PlainHasher(),
        tokens=JwtTokenIssuer(TokenSettings("s" * 32)),
    )


class FakeMembers:
    def __init__(self) -> None:
        self.members = {
            "mem_kim": Recipient("kim@example.com", "김민지", "ko"),
            "mem_jo": Recipient("jo@example.com", "Jo", "en"),
        }
        self.down = False

    async def recipient(self, member_id: str) -> Recipient | None:
        if self.down:
            raise Unavailable("member")
        return self.members.get(member_id)


def worker(
    state: NotificationState,
    clock: ManualClock,
    members: FakeMembers,
    mailer: Mailer,
    replica: str = "r1",
) -> NotificationService:
    return NotificationService(
        uow=memory_uow(state),
        clock=clock,
        recipients=members,
        templates=JinjaTemplates(),
        mailer=mailer,
        replica=replica,
        backoff=BACKOFF,
        claim_seconds=CLAIM_SECONDS,
    )


def paid(
    order_id: str = "ord_1", member_id: str = "mem_kim", pg: int = 21_000, points: int = 3_000
) -> Envelope:
    legs = [
        {"method": "PG", "amount": pg, "status": "APPROVED"},
        {"method": "POINT", "amount": points, "status": "APPROVED"},
    ]
    payload = {"member_id": member_id, "legs": legs, "approved_at": "2026-01-01T00:00:00.000Z"}
    return Envelope("PaymentCompleted", order_id, payload, "2026-01-01T00:00:00.000Z")


def failed(order_id: str = "ord_2", member_id: str = "mem_kim", reason: str = "PG_DECLINED") -> Envelope:
    return Envelope(
        "OrderFailed", order_id, {"member_id": member_id, "reason": reason}, "2026-01-01T00:00:01.000Z"
    )


def cancelled(order_id: str = "ord_3", member_id: str = "mem_kim") -> Envelope:
    return Envelope("OrderCancelled", order_id, {"member_id": member_id}, "2026-01-01T00:00:02.000Z")


def partly_cancelled(
    order_id: str = "ord_4", member_id: str = "mem_kim", product_id: str = "prd_1"
) -> Envelope:
    payload = {
        "member_id": member_id,
        "items": [{"product_id": product_id, "quantity": 2}],
        "refund_amount": 12_000,
    }
    return Envelope("OrderPartiallyCancelled", order_id, payload, "2026-01-01T00:00:03.000Z")


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)
