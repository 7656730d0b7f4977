"""How each event changes an order's record. Every change sets a fact once (the earliest paid or cancelled
time, the latest cancellation request, a partial cancellation once per time), so an event read twice, or
out of order with the others, leaves the record as reading each once in order would.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from market.kernel import codec
from market.kernel.clock import parse_iso
from market.kernel.events import (
    EVENT_TYPES,
    ORDER_EVENTS,
    PAYMENT_EVENTS,
    Envelope,
    Event,
    MalformedEvent,
    OrderCancellationRequested,
    OrderCancelled,
    OrderCreated,
    OrderFailed,
    PaymentCompleted,
    PaymentFailed,
    PaymentRefunded,
)
from market.kernel.money import Won
from market.reporting.domain.records import CancelledItem, OrderRecord, Partial, SoldLine

# Partial cancellation (SPEC §10.3) is read from its payload until the kernel declares its type.
PARTIALLY_CANCELLED = "OrderPartiallyCancelled"


@dataclass(frozen=True)
class _PartialPayload:
    member_id: str
    items: tuple[CancelledItem, ...]
    refund_amount: Won = 0


def follows(envelope: Envelope) -> bool:
    """Whether the read model keeps anything of this kind of event."""
    return envelope.type in _FOLLOWED or envelope.type == PARTIALLY_CANCELLED


def project(record: OrderRecord | None, envelope: Envelope) -> OrderRecord | None:
    """The order's record once this event is read; None when the event says nothing the read model keeps.

    MalformedEvent when the event's payload cannot be read."""
    at = parse_iso(envelope.occurred_at)
    if at is None:
        raise MalformedEvent(f"{envelope.type} of {envelope.order_id} has no time")
    before = record or OrderRecord(envelope.order_id)
    if envelope.type == PARTIALLY_CANCELLED:
        changed = _partial(before, _partial_payload(envelope), at)
    else:
        if envelope.type not in _FOLLOWED:
            return None
        changed = _apply(before, envelope.body(), at)
    latest = max(at, before.updated_at) if before.updated_at else at
    return replace(changed, updated_at=latest, member_id=changed.member_id or _member_of(envelope))


# Every event of the two topics the read model consumes.
_FOLLOWED = frozenset(
    type_ for (type_, _), cls in EVENT_TYPES.items() if cls.TOPIC in (ORDER_EVENTS, PAYMENT_EVENTS)
)


def _apply(r: OrderRecord, event: Event, at: datetime) -> OrderRecord:
    match event:
        case OrderCreated():
            lines = tuple(
                SoldLine(i.product_id, i.seller_id, i.name, i.unit_price, i.quantity) for i in event.items
            )
            return replace(r, total_amount=event.total_amount, items=lines, created_at=at)
        case PaymentCompleted():
            return replace(r, paid_at=_earliest(r.paid_at, event.approved_at))
        case PaymentFailed() | OrderFailed():
            return replace(
                r, failed_at=_earliest(r.failed_at, at), failure_reason=r.failure_reason or event.reason
            )
        case OrderCancellationRequested():
            latest = max(r.cancel_requested_at, at) if r.cancel_requested_at else at
            return replace(r, cancel_requested_at=latest)
        case PaymentRefunded():
            return replace(r, cancelled_at=_earliest(r.cancelled_at, event.refunded_at))
        case OrderCancelled():
            return replace(r, cancelled_at=_earliest(r.cancelled_at, at))
    return r


def _partial(r: OrderRecord, payload: _PartialPayload, at: datetime) -> OrderRecord:
    if any(p.at == at for p in r.partials):
        return r  # the same cancellation, told again (or by a rebuild)
    partial = Partial(at, payload.items, payload.refund_amount)
    return replace(r, partials=(*r.partials, partial))


def _partial_payload(envelope: Envelope) -> _PartialPayload:
    try:
        return codec.build(_PartialPayload, envelope.payload)
    except ValueError as exc:
        raise MalformedEvent(f"{envelope.type}: {exc}") from None


def _earliest(known: datetime | None, at: datetime) -> datetime:
    return min(known, at) if known is not None else at


def _member_of(envelope: Envelope) -> str:
    member = envelope.payload.get("member_id")
    return member if isinstance(member, str) else ""
