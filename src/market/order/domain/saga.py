"""The order's part of the payment saga: how it reacts to payment events and what it announces.

A reaction returns the changed order and the events to publish with it, or None when the event is
stale (the order has moved on, e.g. PaymentCompleted after FAILED): then nothing changes.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    PaymentCompleted,
    PaymentFailed,
    PaymentRefunded,
    envelope,
)
from market.kernel.plan import Method
from market.order.domain.order import Order, OrderStatus

Outcome = tuple[Order, list[Envelope]] | None


def order_created(order: Order) -> Envelope:
    """OrderCreated: what the payment service needs to take the payment."""
    items = tuple(LineBought(line.product_id, line.quantity, line.unit_price) for line in order.items)
    payments = tuple(leg.leg for leg in order.payments)
    payload = OrderCreated(order.member_id, order.total_amount, items, payments)
    return envelope(payload, order.id, order.created_at, once="created")


def cancellation_requested(order: Order, at: datetime) -> Envelope:
    return envelope(OrderCancellationRequested(order.member_id), order.id, at, once="cancellation")


def nudge(order: Order) -> Envelope | None:
    """The announcement a saga stuck in this order's status waits on, made again (the same event)."""
    if order.status == OrderStatus.PENDING:
        return order_created(order)
    if order.status == OrderStatus.CANCELLING:
        asked = next(t.at for t in reversed(order.timeline) if t.event == "CANCELLATION_REQUESTED")
        return cancellation_requested(order, asked)
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
            cancelled = order.mark_cancelled(event.refunded_at, _statuses(event.legs))
            return cancelled, [envelope(OrderCancelled(order.member_id), order.id, event.refunded_at)]
    return None
