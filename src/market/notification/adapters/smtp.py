"""The Mailer over SMTP (aiosmtplib), configured by one URL (`MARKET_SMTP_URL`).

`smtp://user:pass@host:port` (plain; port 25 by default), `smtp+starttls://…` (STARTTLS; 587) or
`smtps://…` (TLS from the start; 465). A recipient the server refuses for good (a 5xx answer) makes the
message undeliverable; anything else (connection refused, timeout, 4xx) means try again later.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiosmtplib

from market.notification.adapters.mime import to_mime
from market.notification.domain import Email, Undeliverable

_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    username: str | None = None
    password: str | None = None
    start_tls: bool = False
    use_tls: bool = False

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"an SMTP URL is smtp://, smtp+starttls:// or smtps://host[:port], not {url!r}")
        return cls(
            hostname=parts.hostname,
            port=parts.port or _DEFAULT_PORTS[parts.scheme],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            start_tls=parts.scheme == "smtp+starttls",
            use_tls=parts.scheme == "smtps",
        )


class SmtpMailer:
    """One connection per message: messages are few, and a connection never outlives a server restart."""

    def __init__(self, server: SmtpServer, sender: str, timeout: float = 10.0) -> None:
        self._server = server
        self._sender = sender
        self._timeout = timeout

    async def send(self, email: Email) -> None:
        s = self._server
        try:
            await aiosmtplib.send(
                to_mime(email, self._sender),
                hostname=s.hostname,
                port=s.port,
                username=s.username,
                password=s.password,
                start_tls=s.start_tls,
                use_tls=s.use_tls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if all(r.code >= 500 for r in exc.recipients):
                raise Undeliverable(f"the mail server refused {email.to.email}: {exc.recipients[0]}") from exc
            raise
