"""The notification worker against a real SMTP server (aiosmtpd, in the test) and the .eml fallback.

The worker is the one the composition roots build (`build_notifications`: SQLite notices, the Jinja2
templates, the counted mailer), reading recipients from a real MemberService in the same process.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from market.infra.migrations import migrate
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import ManualClock, SystemClock
from market.kernel.db import Database
from market.member.use_cases import MemberService
from market.notification.adapters.eml import EmlMailer
from market.notification.adapters.members import InProcessRecipients
from market.notification.adapters.migrations import HISTORY as MIGRATIONS
from market.notification.adapters.smtp import SmtpMailer, SmtpServer
from market.notification.adapters.templates import JinjaTemplates
from market.notification.adapters.wiring import build_notifications
from market.notification.domain import Backoff, Recipient, State, notice_from
from market.notification.ports import Mailer
from market.notification.use_cases import NotificationService
from tests.unit.notification.fakes import cancelled, failed, member_service, paid, seconds

SENDER = "Cashnote Market <no-reply@market.test>"


class Inbox:
    """aiosmtpd's handler: every message the server accepted, as parsed e-mail."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def by_subject(self) -> dict[str, tuple[list[str], EmailMessage]]:
        return {str(m["Subject"]): (to, m) for to, m in self.messages}


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None
    return str(part.get_content())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = SqliteDatabase(tmp_path / "notification.db")
    await migrate(database, MIGRATIONS)
    yield database
    await database.close()


@pytest.fixture
async def members() -> MemberService:
    return member_service()


async def sign_up(members: MemberService) -> tuple[str, str]:
    kim = await members.sign_up("kim@example.com", "김민지", "correct horse")
    jo = await members.sign_up("jo@example.com", "Jo", "correct horse", locale="en")
    return kim.id, jo.id


Build = Callable[..., NotificationService]


@pytest.fixture
def build(db: Database, members: MemberService) -> Build:
    def make(
        mailer: Mailer, clock: Any, replica: str = "r1", backoff: Backoff = Backoff()
    ) -> NotificationService:
        return build_notifications(
            db, clock, InProcessRecipients(members), mailer, replica=replica, backoff=backoff
        )

    return make


async def eventually(check: Callable[[], bool], patience: float = 5.0) -> None:
    for _ in range(int(patience / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within the time")


async def test_three_events_one_of_them_twice_make_three_messages(
    members: MemberService, build: Build
) -> None:
    kim, jo = await sign_up(members)
    inbox, port = Inbox(), free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        worker = build(SmtpMailer(SmtpServer.from_url(f"smtp://127.0.0.1:{port}"), SENDER), ManualClock())
        events = [paid("ord_1", kim), failed("ord_2", jo, "PG_DECLINED"), cancelled("ord_3", kim)]
        await worker.handle_batch(events)
        await worker.handle(events[0])  # delivered again
        assert await worker.send_pending() == 3
        await worker.handle(events[2])  # and once more after it was sent
        assert await worker.send_pending() == 0
    finally:
        server.stop()

    received = inbox.by_subject()
    assert len(inbox.messages) == 3
    assert set(received) == {
        "[Cashnote Market] 주문 ord_1 결제가 완료되었습니다",
        "[Cashnote Market] Your order ord_2 failed",
        "[Cashnote Market] 주문 ord_3이(가) 취소되었습니다",
    }
    to, message = received["[Cashnote Market] Your order ord_2 failed"]
    assert to == ["jo@example.com"] and str(message["To"]) == "Jo <jo@example.com>"
    assert str(message["From"]) == SENDER
    assert message["Message-ID"] == f"<{events[1].event_id}@market.test>"
    assert "The card issuer declined the payment." in body(message, "plain")
    to, message = received["[Cashnote Market] 주문 ord_1 결제가 완료되었습니다"]
    assert to == ["kim@example.com"] and str(message["To"]) == "김민지 <kim@example.com>"
    assert "24,000원" in body(message, "html")


async def test_messages_wait_for_a_mail_server_that_is_down_and_all_arrive_once_when_it_is_up(
    members: MemberService, build: Build, db: Database
) -> None:
    kim, jo = await sign_up(members)
    inbox, port, clock = Inbox(), free_port(), ManualClock()
    mailer = SmtpMailer(SmtpServer.from_url(f"smtp://127.0.0.1:{port}"), SENDER, timeout=2)
    one, two = build(mailer, clock, "r1"), build(mailer, clock, "r2")
    events = [paid("ord_1", kim), failed("ord_2", jo), cancelled("ord_3", kim)]
    await one.handle_batch(events)

    for _ in range(3):  # each run tries one message, finds the server down and leaves the rest for later
        assert await one.send_pending() == 0
    clock.advance(seconds(1))
    assert await two.send_pending() == 0  # none due yet: backing off
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        clock.advance(seconds(1))
        sent = await asyncio.gather(one.send_pending(), two.send_pending(), one.send_pending())
        clock.advance(seconds(3600))
        assert await one.send_pending() + await two.send_pending() == 0
    finally:
        server.stop()

    assert sum(sent) == 3
    assert sorted(str(m["Message-ID"]) for _, m in inbox.messages) == sorted(
        f"<{e.event_id}@market.test>" for e in events
    )
    async with db.transaction() as tx:
        rows = await tx.fetchall("SELECT state, attempts FROM notifications")
    assert [(r["state"], r["attempts"]) for r in rows] == [(State.SENT.value, 2)] * 3


async def test_the_running_sender_delivers_what_queued_up_while_the_server_was_down(
    members: MemberService, build: Build
) -> None:
    kim, jo = await sign_up(members)
    inbox, port = Inbox(), free_port()
    mailer = SmtpMailer(SmtpServer.from_url(f"smtp://127.0.0.1:{port}"), SENDER, timeout=2)
    worker = build(mailer, SystemClock(), backoff=Backoff(first=0.05, cap=0.2))
    sender = asyncio.create_task(worker.run_sender(poll_seconds=0.05))
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    try:
        events = [paid("ord_1", kim), failed("ord_2", jo), cancelled("ord_3", kim)]
        for event in events:
            await worker.handle(event)  # returns at once, mail server or not
        await asyncio.sleep(0.5)  # several failed attempts each
        server.start()
        await eventually(lambda: len(inbox.messages) >= 3)
        await asyncio.sleep(0.5)  # time enough for a message to go twice, if one could
    finally:
        sender.cancel()
        server.stop()

    assert sorted(str(m["Subject"]) for _, m in inbox.messages) == [
        "[Cashnote Market] Your order ord_2 failed",
        "[Cashnote Market] 주문 ord_1 결제가 완료되었습니다",
        "[Cashnote Market] 주문 ord_3이(가) 취소되었습니다",
    ]


async def test_without_smtp_each_message_is_one_eml_file_named_by_its_event(
    members: MemberService, build: Build, tmp_path: Path
) -> None:
    kim, jo = await sign_up(members)
    mailer = EmlMailer(tmp_path / "mail", SENDER)
    worker = build(mailer, ManualClock())
    events = [paid("ord_1", kim), failed("ord_2", jo), cancelled("ord_3", kim)]

    await worker.handle_batch([*events, events[1]])
    await worker.handle(events[0])
    assert await worker.send_pending() == 3
    written = (tmp_path / "mail" / f"{events[1].event_id}.eml").read_bytes()
    # The one window where a message goes twice (sent, then a crash before it was recorded as sent):
    notice = notice_from(events[1], ManualClock().now())
    assert notice is not None
    await mailer.send(JinjaTemplates().render(notice, Recipient("jo@example.com", "Jo", "en")))

    assert sorted(f.name for f in (tmp_path / "mail").iterdir()) == sorted(
        f"{e.event_id}.eml" for e in events
    )
    assert (tmp_path / "mail" / f"{events[1].event_id}.eml").read_bytes() == written  # replaced by the same
    message = message_from_bytes(written, policy=default)
    assert str(message["Subject"]) == "[Cashnote Market] Your order ord_2 failed"
    assert str(message["To"]) == "Jo <jo@example.com>"
    assert message["Message-ID"] == f"<{events[1].event_id}@market.test>"
    assert message.get_content_type() == "multipart/alternative"
