"""Reading the order service's events: an OrderCreated becomes the payment it asks for."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from market.kernel.events import Envelope
from market.payment.domain.payment import Payment
from market.payment.domain.rules import Leg, Method

log = logging.getLogger("market.payment")


def payment_of(envelope: Envelope, now: datetime, lease: datetime) -> Payment:
    """The new payment of an OrderCreated event, held by its first runner until `lease`."""
    payload = envelope.payload
    member_id = str(payload.get("member_id", ""))
    return Payment.open(envelope.order_id, member_id, _total_of(payload), _legs_of(payload), now, lease)


def _total_of(payload: dict[str, Any]) -> int:
    total = payload.get("total_amount")
    return total if isinstance(total, int) else 0


def _legs_of(payload: dict[str, Any]) -> list[Leg]:
    """The plan of an OrderCreated event; a malformed plan reads as no legs, which the rules refuse."""
    try:
        return [
            Leg(Method(p["method"]), _whole(p["amount"]), p.get("payment_key"), p.get("coupon_id"))
            for p in payload.get("payments", [])
        ]
    except (KeyError, TypeError, ValueError):
        log.error("OrderCreated with a malformed payment plan: %r", payload.get("payments"))
        return []


def _whole(amount: object) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError(f"{amount!r} is not a whole number of won")
    return amount
