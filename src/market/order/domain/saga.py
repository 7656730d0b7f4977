"""The order's part of the payment saga: how it reacts to payment events and what it announces.

A reaction returns the changed order and the events to publish with it, or None when the event is
stale (the order has moved on, e.g. PaymentCompleted after FAILED): then nothing changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from market.kernel.events import (
    Envelope,
    Event,
    LegOutcome,
    LineBought,
    OrderCancellationRequested,
    OrderCancelled,
    OrderCreated,
    OrderFailed,
    OrderPartialCancellationRequested,
    OrderPartiallyCancelled,
    PaymentCompleted,
    PaymentFailed,
    PaymentPartiallyRefunded,
    PaymentRefunded,
    envelope,
)
from market.kernel.plan import Method
from market.order.domain.order import Order, OrderStatus

Outcome = tuple[Order, list[Envelope]] | None


def order_created(order: Order) -> Envelope:
    """OrderCreated: what the payment service needs to take the payment."""
    items = tuple(
        LineBought(line.product_id, line.quantity, line.unit_price, line.seller_id, line.name)
        for line in order.items
    )
    payments = tuple(leg.leg for leg in order.payments)
    payload = OrderCreated(order.member_id, order.total_amount, items, payments)
    return envelope(payload, order.id, order.created_at, once="created")


# The namespace of the ids of the events `history` tells: the same order, the same ids, every time.
HISTORY = uuid.UUID("5f0c8d52-6a51-4c55-9a7e-2f4b8f0f1e11")


def history(order: Order) -> list[Envelope]:
    """The order as it stands, told as the events that made it (its own and the payment's), in order: what
    a read model fed by the events rebuilds itself from. Each event's id is derived from the order, its
    type and its time, so telling it twice tells the same events."""
    told = [order_created(order)]
    statuses = tuple(LegOutcome(leg.method, leg.amount, leg.status) for leg in order.payments)
    if order.paid_at is not None:
        paid = PaymentCompleted(order.member_id, statuses, order.paid_at)
        told.append(envelope(paid, order.id, order.paid_at))
    for entry in order.timeline:
        if entry.event == "PAYMENT_FAILED":
            failed = OrderFailed(order.member_id, order.failure_reason or entry.detail or "")
            told.append(envelope(failed, order.id, entry.at))
        elif entry.event == "CANCELLATION_REQUESTED":
            told.append(cancellation_requested(order, entry.at))
    if order.cancelled_at is not None:
        told.append(envelope(OrderCancelled(order.member_id), order.id, order.cancelled_at))
    return [
        replace(e, event_id=str(uuid.uuid5(HISTORY, f"{e.order_id}/{e.type}/{e.occurred_at}"))) for e in told
    ]


def cancellation_requested(order: Order, at: datetime) -> Envelope:
    """The order's pending cancellation as the payment service is asked to refund it: the whole order
    (OrderCancellationRequested), or part of it (OrderPartialCancellationRequested). Announced again (a
    stuck saga nudged), it is the same event."""
    c = order.pending_cancellation
    if c is None or c.whole:
        once = f"cancellation/{c.id}" if c is not None else "cancellation"
        return envelope(OrderCancellationRequested(order.member_id), order.id, at, once=once)
    payload = OrderPartialCancellationRequested(order.member_id, c.id, c.items, c.refund_amount)
    return envelope(payload, order.id, at, once=f"cancellation/{c.id}")


def nudge(order: Order) -> Envelope | None:
    """The announcement a saga stuck in this order's status waits on, made again (the same event)."""
    if order.status == OrderStatus.PENDING:
        return order_created(order)
    pending = order.pending_cancellation
    if pending is not None:
        return cancellation_requested(order, pending.requested_at)
    return None


def _statuses(legs: Sequence[LegOutcome]) -> dict[Method, str]:
    return {leg.method: leg.status for leg in legs}


def react(order: Order, event: Event, now: datetime) -> Outcome:
    """The order's reaction to a payment event (None: stale, or not one the order follows)."""
    match event:
        case PaymentCompleted() if order.can_move_to(OrderStatus.PAID):
            return order.mark_paid(event.approved_at, _statuses(event.legs)), []
        case PaymentFailed() if order.can_move_to(OrderStatus.FAILED):
            failed = order.mark_failed(now, event.reason, _statuses(event.legs))
            return failed, [envelope(OrderFailed(order.member_id, event.reason), order.id, now)]
        case PaymentRefunded() if order.can_move_to(OrderStatus.CANCELLED):
            last = order.pending_cancellation
            cancelled = order.mark_cancelled(event.refunded_at, _statuses(event.legs))
            items, refund = (last.items, last.refund_amount) if last else ((), None)
            announced = OrderCancelled(order.member_id, items, refund)
            return cancelled, [envelope(announced, order.id, event.refunded_at)]
        case PaymentPartiallyRefunded():
            at = event.refunded_at
            done = order.mark_partially_refunded(event.cancellation_id, event.refunds, at)
            if done is None:
                return None
            c = next(c for c in done.cancellations if c.id == event.cancellation_id)
            partly = OrderPartiallyCancelled(order.member_id, c.id, c.items, c.refund_amount, c.refunds)
            return done, [envelope(partly, order.id, at)]
    return None
