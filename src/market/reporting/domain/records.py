"""An order as the read model knows it: the facts the events told about it, whatever order they came in.

Events of one order come on two topics (order.events, payment.events) whose consumers may run apart, so a
PaymentCompleted can be read before its OrderCreated. A record therefore keeps facts (when it was paid,
failed, asked to be cancelled, cancelled), each set once, and its status is derived from them: the same
facts give the same status whatever the order they were read in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from market.kernel.money import Won

PENDING, PAID, FAILED, CANCELLING, CANCELLED = "PENDING", "PAID", "FAILED", "CANCELLING", "CANCELLED"
STATUSES = (PENDING, PAID, FAILED, CANCELLING, CANCELLED)
# Not settled (SPEC §8's liveness: every order reaches PAID, FAILED or CANCELLED within 60 s).
IN_FLIGHT = (PENDING, CANCELLING)
STUCK_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class SoldLine:
    product_id: str
    seller_id: str
    name: str
    unit_price: Won
    quantity: int

    @property
    def line_amount(self) -> Won:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class CancelledItem:
    product_id: str
    quantity: int


@dataclass(frozen=True)
class Partial:
    """A partial cancellation (SPEC §10.3): some quantities of some lines, refunded at `at`."""

    at: datetime
    items: tuple[CancelledItem, ...]
    refund_amount: Won


@dataclass(frozen=True)
class OrderRecord:
    id: str
    member_id: str = ""
    total_amount: Won = 0
    items: tuple[SoldLine, ...] = ()
    created_at: datetime | None = None  # None until its OrderCreated is read
    updated_at: datetime | None = None  # the latest event's time
    paid_at: datetime | None = None
    failed_at: datetime | None = None
    failure_reason: str | None = None
    cancel_requested_at: datetime | None = None
    cancelled_at: datetime | None = None
    partials: tuple[Partial, ...] = ()

    @property
    def status(self) -> str:
        if self.cancelled_at is not None:
            return CANCELLED
        if self.failed_at is not None:
            return FAILED
        if self.cancel_requested_at is not None and not any(
            p.at >= self.cancel_requested_at for p in self.partials
        ):
            return CANCELLING  # a partial cancellation after the request answered it: PAID again
        return PAID if self.paid_at is not None else PENDING

    def stuck(self, now: datetime) -> bool:
        """Not settled 60 s after its last change."""
        last = self.updated_at or self.created_at
        return self.status in IN_FLIGHT and last is not None and now - last >= STUCK_AFTER

    def refunds(self) -> list[tuple[datetime, dict[str, Won]]]:
        """Each refund, dated, as the amount of each seller's lines it gave back: a partial cancellation
        its lines' unit price × quantity, the whole cancellation every quantity still open."""
        prices = {line.product_id: line for line in self.items}
        open_quantity = {line.product_id: line.quantity for line in self.items}
        found: list[tuple[datetime, dict[str, Won]]] = []
        for partial in sorted(self.partials, key=lambda p: p.at):
            amounts: dict[str, Won] = {}
            for item in partial.items:
                line = prices.get(item.product_id)
                if line is None:
                    continue
                quantity = min(item.quantity, open_quantity[line.product_id])
                open_quantity[line.product_id] -= quantity
                amounts[line.seller_id] = amounts.get(line.seller_id, 0) + quantity * line.unit_price
            found.append((partial.at, amounts))
        if self.cancelled_at is not None:
            rest: dict[str, Won] = {}
            for line in self.items:
                rest[line.seller_id] = (
                    rest.get(line.seller_id, 0) + open_quantity[line.product_id] * line.unit_price
                )
            found.append((self.cancelled_at, rest))
        return found

    @property
    def refunded_amount(self) -> Won:
        return sum(sum(amounts.values()) for _, amounts in self.refunds())

    @property
    def sellers(self) -> frozenset[str]:
        return frozenset(line.seller_id for line in self.items)


@dataclass(frozen=True)
class OrderQuery:
    """An admin's order search (SPEC §10.2): every filter optional, newest first, after `cursor`."""

    status: str | None = None
    member_id: str | None = None
    seller_id: str | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive
    stuck: bool = False
    cursor: str | None = None
    limit: int = 20
