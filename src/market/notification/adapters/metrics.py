"""A Mailer that counts what it sent and what failed, by kind of message (Prometheus)."""

from __future__ import annotations

from prometheus_client import Counter

from market.notification.domain import Email, Undeliverable
from market.notification.ports import Mailer

MESSAGES = Counter(
    "market_notification_messages",
    "Notification e-mails handed to the mail server, by kind and outcome (sent, failed: tried again later, "
    "undeliverable)",
    ["kind", "outcome"],
)


class CountingMailer:
    def __init__(self, inner: Mailer) -> None:
        self._inner = inner

    async def send(self, email: Email) -> None:
        try:
            await self._inner.send(email)
        except Undeliverable:
            MESSAGES.labels(email.kind, "undeliverable").inc()
            raise
        except Exception:
            MESSAGES.labels(email.kind, "failed").inc()
            raise
        MESSAGES.labels(email.kind, "sent").inc()
