"""The order's part of the payment saga: how it reacts to payment events and what it announces.

A reaction returns the changed order and the events to publish with it, or None when the event is
stale (the order has moved on, e.g. PaymentCompleted after FAILED): then nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from market.kernel.clock import parse_iso
from market.kernel.events import Envelope, event
from market.order.domain.order import Order, OrderStatus

Outcome = tuple[Order, list[Envelope]] | None
Reaction = Callable[[Order, Mapping[str, Any], datetime], Outcome]


def order_created(order: Order) -> Envelope:
    """OrderCreated: what the payment service needs to take the payment."""
    return event(
        "OrderCreated",
        order.id,
        order.created_at,
        member_id=order.member_id,
        total_amount=order.total_amount,
        items=[
            {"product_id": line.product_id, "quantity": line.quantity, "unit_price": line.unit_price}
            for line in order.items
        ],
        payments=[
            {
                "method": leg.method,
                "amount": leg.amount,
                "payment_key": leg.payment_key,
                "coupon_id": leg.coupon_id,
            }
            for leg in order.payments
        ],
    )


def cancellation_requested(order: Order, at: datetime) -> Envelope:
    return event("OrderCancellationRequested", order.id, at, member_id=order.member_id)


def _leg_statuses(payload: Mapping[str, Any]) -> dict[str, str]:
    legs = payload.get("legs") or ()
    return {str(leg["method"]): str(leg["status"]) for leg in legs if "method" in leg and "status" in leg}


def _completed(order: Order, payload: Mapping[str, Any], now: datetime) -> Outcome:
    if not order.can_move_to(OrderStatus.PAID):
        return None
    paid_at = parse_iso(payload.get("approved_at")) or now
    return order.mark_paid(paid_at, _leg_statuses(payload)), []


def _failed(order: Order, payload: Mapping[str, Any], now: datetime) -> Outcome:
    if not order.can_move_to(OrderStatus.FAILED):
        return None
    reason = str(payload.get("reason") or "PAYMENT_FAILED")
    failed = order.mark_failed(now, reason, _leg_statuses(payload))
    return failed, [event("OrderFailed", order.id, now, member_id=order.member_id, reason=reason)]


def _refunded(order: Order, payload: Mapping[str, Any], now: datetime) -> Outcome:
    if not order.can_move_to(OrderStatus.CANCELLED):
        return None
    cancelled_at = parse_iso(payload.get("refunded_at")) or now
    cancelled = order.mark_cancelled(cancelled_at, _leg_statuses(payload))
    return cancelled, [event("OrderCancelled", order.id, cancelled_at, member_id=order.member_id)]


REACTIONS: Mapping[str, Reaction] = {
    "PaymentCompleted": _completed,
    "PaymentFailed": _failed,
    "PaymentRefunded": _refunded,
}
