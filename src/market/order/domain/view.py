"""The order as the public API shows it (SPEC §5's resource): the one place that shape is written.

The REST adapter answers it, and the Idempotency-Key's replay stores it, so a replay is the first answer
byte for byte. The order's storage keeps the aggregate itself (`market.kernel.codec`), not this view.
"""

from __future__ import annotations

from typing import Any

from market.kernel.clock import iso
from market.order.domain.cancellation import Cancellation
from market.order.domain.lines import Line
from market.order.domain.order import Order


def order_view(o: Order) -> dict[str, Any]:
    return {
        "id": o.id,
        "member_id": o.member_id,
        "status": o.status.value,
        "total_amount": o.total_amount,
        "items": [{**_line(i), "cancelled_quantity": i.cancelled_quantity} for i in o.items],
        "payments": [
            {
                "method": p.method.value,
                "amount": p.amount,
                "status": p.status,
                "refunded_amount": p.refunded_amount,
            }
            for p in o.payments
        ],
        "failure_reason": o.failure_reason,
        "created_at": iso(o.created_at),
        "paid_at": iso(o.paid_at),
        "cancelled_at": iso(o.cancelled_at),
        "timeline": [{"at": iso(t.at), "event": t.event, "detail": t.detail} for t in o.timeline],
        "cancellations": [_cancellation(c) for c in o.cancellations],
    }


def _cancellation(c: Cancellation) -> dict[str, Any]:
    """A cancellation: its quantities, its refund and each leg's share (a preview while `refunded_at` is
    null)."""
    return {
        "id": c.id,
        **cancel_preview_view(c),
        "requested_at": iso(c.requested_at),
        "refunded_at": iso(c.refunded_at),
        "reason": c.reason,
    }


def cancel_preview_view(c: Cancellation) -> dict[str, Any]:
    """What a cancellation takes and gives back: its quantities, its refund and each leg's share."""
    return {
        "items": [{"product_id": i.product_id, "quantity": i.quantity} for i in c.items],
        "refund_amount": c.refund_amount,
        "refunds": [{"method": r.method.value, "amount": r.amount} for r in c.refunds],
    }


def preview_view(o: Order) -> dict[str, Any]:
    """An order that is only previewed: its total, its priced lines and its payment plan."""
    return {
        "total_amount": o.total_amount,
        "items": [_line(i) for i in o.items],
        "payments": [{"method": p.method.value, "amount": p.amount} for p in o.payments],
    }


def _line(line: Line) -> dict[str, Any]:
    return {
        "product_id": line.product_id,
        "name": line.name,
        "unit_price": line.unit_price,
        "quantity": line.quantity,
        "line_amount": line.line_amount,
    }
