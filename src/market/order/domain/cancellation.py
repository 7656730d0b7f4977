"""A cancellation of an order, whole or partial (SPEC §10.3): which quantities, the refund they call for, and
its split over the legs — the preview at first, what the payment service gave back once it has.

An order has at most one cancellation under way: another one asked meanwhile is refused (409
ORDER_NOT_CANCELLABLE), so two racing cancels both succeed one after the other or one is refused, and
what is refunded never exceeds what is open.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from market.kernel.errors import DomainError
from market.kernel.events import LineCancelled
from market.kernel.money import Won
from market.kernel.refunds import Share
from market.order.domain.lines import Line


@dataclass(frozen=True)
class Cancellation:
    """`whole`: it cancels everything that was open (the order ends CANCELLED). `refunds` is the split
    shown when it was asked for until the payment service reports what each leg gave back (`refunded_at`)."""

    id: str
    items: tuple[LineCancelled, ...]
    refund_amount: Won
    requested_at: datetime
    whole: bool = False
    refunds: tuple[Share, ...] = ()
    refunded_at: datetime | None = None
    reason: str | None = None  # the customer's, as given

    @property
    def pending(self) -> bool:
        return self.refunded_at is None

    def describe(self) -> str:
        """The timeline's detail: `2 × prd_3, 1 × prd_7; 41000 won`."""
        lines = ", ".join(f"{i.quantity} × {i.product_id}" for i in self.items)
        return f"{lines}; {self.refund_amount} won"


def check_request(requested: Sequence[tuple[str, int]] | None) -> None:
    """The request's own shape, before the order is read: VALIDATION_ERROR for an empty list, a quantity
    below 1 or a product named twice."""
    if requested is None:
        return
    if not requested:
        raise DomainError("VALIDATION_ERROR", "items, when given, name at least one line to cancel")
    for product_id, quantity in requested:
        if quantity < 1:
            raise DomainError("VALIDATION_ERROR", "a quantity to cancel is at least 1", product_id=product_id)
    for product_id, n in Counter(p for p, _ in requested).items():
        if n > 1:
            raise DomainError(
                "VALIDATION_ERROR", "a product appears once per cancellation", product_id=product_id
            )


def lines_to_cancel(
    lines: Sequence[Line], requested: Sequence[tuple[str, int]] | None
) -> tuple[LineCancelled, ...]:
    """The quantities a cancel takes: everything still open (`requested` None), or what it names —
    PRODUCT_NOT_IN_ORDER for a product the order lacks, CANCEL_QUANTITY_EXCEEDED for more than is open."""
    check_request(requested)
    if requested is None:
        return tuple(
            LineCancelled(line.product_id, line.open_quantity) for line in lines if line.open_quantity
        )
    by_product = {line.product_id: line for line in lines}
    for product_id, _ in requested:
        if product_id not in by_product:
            raise DomainError(
                "PRODUCT_NOT_IN_ORDER", f"the order has no line of {product_id}", product_id=product_id
            )
    for product_id, quantity in requested:
        open_quantity = by_product[product_id].open_quantity
        if quantity > open_quantity:
            raise DomainError(
                "CANCEL_QUANTITY_EXCEEDED",
                f"{quantity} of {product_id} asked, {open_quantity} open",
                product_id=product_id,
                open_quantity=open_quantity,
            )
    return tuple(LineCancelled(product_id, quantity) for product_id, quantity in requested)


def with_cancelled(lines: Sequence[Line], items: Sequence[LineCancelled]) -> tuple[Line, ...]:
    """The lines once `items` are cancelled."""
    taken = {i.product_id: i.quantity for i in items}
    return tuple(
        replace(line, cancelled_quantity=line.cancelled_quantity + taken.get(line.product_id, 0))
        for line in lines
    )
