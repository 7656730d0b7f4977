"""An `Email` as an RFC 5322 message (the standard library's `email`): multipart/alternative, text and HTML.

The Message-ID derives from the event id, so the same notice always makes the same message: the one time
it can go out twice (the mail server accepted it, then the process stopped before recording that) the
recipient's mail system sees one Message-ID twice, and many show it once.
"""

from __future__ import annotations

from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr

from market.notification.domain import Email

# CRLF line ends, as SMTP has them (and a .eml file read by a mail client).
_WIRE = compat32.clone(linesep="\r\n")


def message_id(event_id: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "market.invalid"
    return f"<{event_id}@{domain}>"


def to_mime(email: Email, sender: str) -> Message:
    """The message, built with the `email` package's compat32 classes: the same message as its newer
    EmailMessage API would make, at a quarter of its CPU (that API parses every header it is given again;
    docs/performance.md)."""
    message = MIMEMultipart("alternative", boundary=f"=_{email.event_id}")  # a resend is the same bytes
    message["From"] = sender
    message["To"] = formataddr((email.to.name, email.to.email), charset="utf-8")
    # compat32 folds a Header object as encoded words when it writes the message (typeshed types only str).
    message["Subject"] = Header(email.subject, "utf-8")  # type: ignore[assignment]
    message["Date"] = format_datetime(email.date)
    message["Message-ID"] = message_id(email.event_id, sender)
    message["X-Market-Notification"] = email.kind
    message.attach(MIMEText(email.text, "plain", "utf-8"))
    message.attach(MIMEText(email.html, "html", "utf-8"))
    return message


def to_bytes(email: Email, sender: str) -> bytes:
    """The message as it goes on the wire (CRLF line ends)."""
    return to_mime(email, sender).as_bytes(policy=_WIRE)
