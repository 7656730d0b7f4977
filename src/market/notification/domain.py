"""Notices (one per event that warrants an e-mail), their delivery state and retry policy; standard library only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from market.kernel.clock import parse_iso
from market.kernel.events import Envelope

PAID = "PAID"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
PARTIALLY_CANCELLED = "PARTIALLY_CANCELLED"

# The events that warrant a message, and what kind of message; every other event is ignored.
KIND_OF_EVENT: Mapping[str, str] = {
    "PaymentCompleted": PAID,
    "OrderFailed": FAILED,
    "OrderCancelled": CANCELLED,
    "OrderPartiallyCancelled": PARTIALLY_CANCELLED,
}

LOCALES = ("ko", "en")
DEFAULT_LOCALE = "ko"


class State(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    UNDELIVERABLE = "UNDELIVERABLE"  # the member is gone or the mail server refused the address for good


class Undeliverable(Exception):
    """The message can never be delivered (e.g. the server refused the recipient for good): no retry."""


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    locale: str = DEFAULT_LOCALE

    @property
    def language(self) -> str:
        """The locale the message is written in: the member's, or Korean if it is not one we write."""
        return self.locale if self.locale in LOCALES else DEFAULT_LOCALE


@dataclass(frozen=True)
class Backoff:
    """Seconds before the n-th retry: `first`, doubling each time, never more than `cap`."""

    first: float = 2.0
    cap: float = 600.0

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.cap, self.first * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Notice:
    """A message owed to a member for one event: what the templates need, and where its delivery stands.

    Keyed by the event id, so a second delivery of the event records nothing; rendered when sent."""

    event_id: str
    kind: str
    order_id: str
    member_id: str
    facts: Mapping[str, Any]
    occurred_at: datetime
    next_attempt_at: datetime
    state: State = State.PENDING
    attempts: int = 0
    sent_at: datetime | None = None
    last_error: str | None = None

    def delivered(self, at: datetime) -> Notice:
        return replace(self, state=State.SENT, attempts=self.attempts + 1, sent_at=at, last_error=None)

    def failed(self, at: datetime, error: str, backoff: Backoff) -> Notice:
        """Still owed: tried again after the backoff of this many attempts."""
        attempts = self.attempts + 1
        return replace(
            self, attempts=attempts, next_attempt_at=at + backoff.delay(attempts), last_error=error[:255]
        )

    def refused(self, error: str) -> Notice:
        return replace(self, state=State.UNDELIVERABLE, attempts=self.attempts + 1, last_error=error[:255])


@dataclass(frozen=True)
class Email:
    """A rendered message, ready for a mailer; its Message-ID derives from `event_id`."""

    event_id: str
    kind: str
    to: Recipient
    subject: str
    text: str
    html: str
    date: datetime


def notice_from(envelope: Envelope, now: datetime) -> Notice | None:
    """The notice an event calls for, due at once; None for an event that calls for no message."""
    kind = KIND_OF_EVENT.get(envelope.type)
    member_id = envelope.payload.get("member_id")
    if kind is None or not isinstance(member_id, str) or not member_id:
        return None
    return Notice(
        event_id=envelope.event_id,
        kind=kind,
        order_id=envelope.order_id,
        member_id=member_id,
        facts=_FACTS[kind](envelope.payload),
        occurred_at=_when(envelope.occurred_at) or now,
        next_attempt_at=now,
    )


def _when(text: str) -> datetime | None:
    # A malformed time must not make the event unconsumable: the message is dated when it was recorded.
    try:
        return parse_iso(text)
    except ValueError:
        return None


def _amount(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _paid(payload: Mapping[str, Any]) -> dict[str, Any]:
    legs = [
        {"method": str(leg.get("method")), "amount": amount}
        for leg in payload.get("legs") or ()
        if isinstance(leg, dict) and (amount := _amount(leg.get("amount"))) is not None
    ]
    return {"amount": sum(leg["amount"] for leg in legs), "legs": legs}


def _failed(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {"reason": str(payload.get("reason") or "PAYMENT_FAILED")}


def _cancelled(payload: Mapping[str, Any]) -> dict[str, Any]:
    items = [
        {"product_id": str(item.get("product_id")), "quantity": quantity}
        for item in payload.get("items") or ()
        if isinstance(item, dict) and (quantity := _amount(item.get("quantity"))) is not None
    ]
    return {"items": items, "refund_amount": _amount(payload.get("refund_amount"))}


_FACTS = {PAID: _paid, FAILED: _failed, CANCELLED: _cancelled, PARTIALLY_CANCELLED: _cancelled}
