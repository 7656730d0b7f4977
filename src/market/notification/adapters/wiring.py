"""The notification worker, built for a composition root (docs/notifications.md, "Wiring it").

db = SqliteDatabase(data_dir / "notification.db")        # or MariaDB's market_notification
await migrate(db, MIGRATIONS)
notifications = build_notifications(db, clock, InProcessRecipients(member), mailer_for(settings))
for topic in TOPICS:
    bus.subscribe(topic, GROUP, notifications.handle)      # or handle_batch with a batching consumer
jobs.start(notifications.run_sender(SEND_EVERY_SECONDS), "notifications")
"""

from __future__ import annotations

import os
import socket
import uuid

from market.kernel.clock import Clock
from market.kernel.db import Database
from market.kernel.events import ORDER_EVENTS, PAYMENT_EVENTS
from market.notification.adapters.eml import EmlMailer
from market.notification.adapters.metrics import CountingMailer
from market.notification.adapters.migrations import HISTORY as MIGRATIONS
from market.notification.adapters.smtp import SmtpMailer, SmtpServer
from market.notification.adapters.sql import sql_uow
from market.notification.adapters.templates import JinjaTemplates
from market.notification.domain import Backoff
from market.notification.ports import Mailer, Recipients
from market.notification.use_cases import NotificationService
from market.settings import Settings

__all__ = [
    "DATABASE",
    "GROUP",
    "MIGRATIONS",
    "SEND_EVERY_SECONDS",
    "TOPICS",
    "build_notifications",
    "mailer_for",
]

DATABASE = "notification"  # notification.db (embedded), market_notification (distributed)
GROUP = "notification"  # its consumer group
TOPICS = (ORDER_EVENTS, PAYMENT_EVENTS)  # OrderFailed, OrderCancelled, …; PaymentCompleted
SEND_EVERY_SECONDS = 1.0


def mailer_for(settings: Settings) -> Mailer:
    """SMTP at `MARKET_SMTP_URL`; without one, `.eml` files under `<data_dir>/mail/`."""
    if settings.smtp_url:
        return SmtpMailer(SmtpServer.from_url(settings.smtp_url), settings.mail_from)
    return EmlMailer(settings.data_dir / "mail", settings.mail_from)


def build_notifications(
    db: Database,
    clock: Clock,
    recipients: Recipients,
    mailer: Mailer,
    *,
    replica: str | None = None,
    backoff: Backoff = Backoff(),
    claim_seconds: float = 60.0,
    batch: int = 50,
) -> NotificationService:
    """The worker over `db` (migrated with `MIGRATIONS`): `handle`, `handle_batch`, `send_pending`, `run_sender`.

    `replica` names this process in its claims (default: host, pid and a random tag); `mailer` is counted
    in the `market_notification_messages_total` metric."""
    return NotificationService(
        uow=sql_uow(db),
        clock=clock,
        recipients=recipients,
        templates=JinjaTemplates(),
        mailer=CountingMailer(mailer),
        replica=replica or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
        backoff=backoff,
        claim_seconds=claim_seconds,
        batch=batch,
    )
