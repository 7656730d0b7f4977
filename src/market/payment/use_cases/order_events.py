"""Reading the order service's events: an OrderCreated becomes the payment it asks for."""

from __future__ import annotations

import logging
from datetime import datetime

from market.kernel.events import Envelope, MalformedEvent, OrderCreated
from market.payment.domain.payment import Payment

log = logging.getLogger("market.payment")


def payment_of(envelope: Envelope, now: datetime, lease: datetime) -> Payment:
    """The new payment of an OrderCreated event, held by its first runner until `lease`. An event whose
    plan cannot be read becomes a payment with no legs, which the rules refuse (VALIDATION_ERROR)."""
    try:
        created = envelope.body()
    except MalformedEvent as exc:
        log.error("OrderCreated of %s cannot be read (%s): its payment is refused", envelope.order_id, exc)
        member_id = envelope.payload.get("member_id")
        return Payment.open(envelope.order_id, str(member_id or ""), 0, [], now, lease)
    assert isinstance(created, OrderCreated)
    return Payment.open(
        envelope.order_id, created.member_id, created.total_amount, created.payments, now, lease
    )
