"""An `Email` as an RFC 5322 message (the standard library's `email`): multipart/alternative, text and HTML.

The Message-ID derives from the event id, so the same notice always makes the same message: the one time
it can go out twice (the mail server accepted it, then the process stopped before recording that) the
recipient's mail system sees one Message-ID twice, and many show it once.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from market.notification.domain import Email


def message_id(event_id: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "market.invalid"
    return f"<{event_id}@{domain}>"


def to_mime(email: Email, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = Address(display_name=email.to.name, addr_spec=email.to.email)
    message["Subject"] = email.subject
    message["Date"] = format_datetime(email.date)
    message["Message-ID"] = message_id(email.event_id, sender)
    message["X-Market-Notification"] = email.kind
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    message.set_boundary(f"=_{email.event_id}")  # not random either: a resend is the same bytes
    return message
