"""Which mailer the settings choose, how MARKET_SMTP_URL reads, and what the mailer counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from market.kernel.clock import ManualClock
from market.notification.adapters.eml import EmlMailer
from market.notification.adapters.memory import NotificationState
from market.notification.adapters.metrics import CountingMailer
from market.notification.adapters.smtp import SmtpMailer, SmtpServer
from market.notification.adapters.wiring import mailer_for
from market.notification.domain import FAILED, PAID
from market.settings import Settings
from tests.unit.notification.fakes import FakeMailer, FakeMembers, failed, paid, seconds, worker


@pytest.mark.parametrize(
    ("url", "server"),
    [
        ("smtp://127.0.0.1:2525", SmtpServer("127.0.0.1", 2525)),
        ("smtp://user:p%40ss@mail.example.com", SmtpServer("mail.example.com", 25, "user", "p@ss")),
        (
            "smtp+starttls://u:p@mail.example.com",
            SmtpServer("mail.example.com", 587, "u", "p", start_tls=True),
        ),
        ("smtps://u:p@mail.example.com:2465", SmtpServer("mail.example.com", 2465, "u", "p", use_tls=True)),
    ],
)
def test_an_smtp_url_names_the_server_its_login_and_its_tls(url: str, server: SmtpServer) -> None:
    assert SmtpServer.from_url(url) == server


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "mail.example.com:25"])
def test_an_smtp_url_that_is_not_one_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="SMTP URL"):
        SmtpServer.from_url(url)


def test_without_an_smtp_url_messages_become_files_under_the_data_dir(tmp_path: Path) -> None:
    files = mailer_for(Settings(data_dir=tmp_path, smtp_url=""))
    smtp = mailer_for(Settings(data_dir=tmp_path, smtp_url="smtp://127.0.0.1:2525"))

    assert isinstance(files, EmlMailer) and files.directory == tmp_path / "mail"
    assert isinstance(smtp, SmtpMailer)


async def test_the_metrics_count_messages_sent_and_failed_by_kind(
    mailer: FakeMailer, state: NotificationState, clock: ManualClock
) -> None:
    counted = worker(state, clock, FakeMembers(), CountingMailer(mailer))

    def count(kind: str, outcome: str) -> float:
        value = REGISTRY.get_sample_value(
            "market_notification_messages_total", {"kind": kind, "outcome": outcome}
        )
        return value or 0.0

    before = count(PAID, "sent"), count(PAID, "failed"), count(FAILED, "undeliverable")
    await counted.handle_batch([paid("ord_1"), failed("ord_2", "mem_jo")])
    mailer.down, mailer.refused = True, {"jo@example.com"}
    await counted.send_pending()
    mailer.down = False
    clock.advance(seconds(2))
    await counted.send_pending()

    after = count(PAID, "sent"), count(PAID, "failed"), count(FAILED, "undeliverable")
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]
