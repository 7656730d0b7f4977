"""The order aggregate and its status machine: PENDING → PAID → CANCELLING → CANCELLED, PENDING → FAILED."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from market.kernel.clock import iso
from market.kernel.errors import DomainError
from market.kernel.ids import new_id
from market.kernel.money import Won
from market.kernel.plan import Leg, Method
from market.kernel.refunds import Share, shares_of
from market.order.domain.cancellation import Cancellation, lines_to_cancel, with_cancelled
from market.order.domain.lines import Line

CANCEL_WINDOW = timedelta(hours=24)


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    PAID = "PAID"
    FAILED = "FAILED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"


# Nothing else moves an order (SPEC §3).
TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.FAILED}),
    OrderStatus.PAID: frozenset({OrderStatus.CANCELLING}),
    OrderStatus.CANCELLING: frozenset({OrderStatus.CANCELLED}),
}
LEG_PENDING = "PENDING"


def new_order_id() -> str:
    """A fresh order id (time-ordered: lists page by it)."""
    return new_id("ord")


@dataclass(frozen=True)
class OrderLeg:
    """A leg of the order's payment plan, and how far the payment service says it went."""

    method: Method
    amount: Won
    status: str = LEG_PENDING
    payment_key: str | None = None
    coupon_id: str | None = None
    refunded_amount: Won = 0

    @classmethod
    def planned(cls, leg: Leg) -> OrderLeg:
        """The leg as planned, with only the fields its method uses (a key on PG/BNPL, a coupon on COUPON)."""
        leg = Leg.of(leg.method, leg.amount, leg.payment_key, leg.coupon_id)
        return cls(leg.method, leg.amount, LEG_PENDING, leg.payment_key, leg.coupon_id)

    @property
    def leg(self) -> Leg:
        """The leg as planned, as the payment service is asked to take it."""
        return Leg(self.method, self.amount, self.payment_key, self.coupon_id)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    event: str
    detail: str | None = None


@dataclass(frozen=True)
class Order:
    """An order: what was bought at which catalog price, how it is paid, and what happened to it."""

    id: str
    member_id: str
    status: OrderStatus
    total_amount: Won
    items: tuple[Line, ...]
    payments: tuple[OrderLeg, ...]
    created_at: datetime
    timeline: tuple[TimelineEntry, ...] = ()
    failure_reason: str | None = None
    paid_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancellations: tuple[Cancellation, ...] = ()

    @classmethod
    def place(
        cls, order_id: str, member_id: str, lines: Sequence[Line], legs: Sequence[Leg], at: datetime
    ) -> Order:
        """A new PENDING order; its total is the sum of its lines at catalog prices."""
        total = sum(line.line_amount for line in lines)
        entry = TimelineEntry(at, "ORDER_PLACED")
        planned = tuple(OrderLeg.planned(leg) for leg in legs)
        return cls(order_id, member_id, OrderStatus.PENDING, total, tuple(lines), planned, at, (entry,))

    @property
    def updated_at(self) -> datetime:
        return self.timeline[-1].at if self.timeline else self.created_at

    @property
    def version(self) -> str:
        """Changes with every change of the order (each adds a timeline entry): what a waiter watches."""
        return iso(self.updated_at) or ""

    def can_move_to(self, status: OrderStatus) -> bool:
        return status in TRANSITIONS.get(self.status, frozenset())

    @property
    def pending_cancellation(self) -> Cancellation | None:
        return next((c for c in self.cancellations if c.pending), None)

    def cancel_refusal(self, now: datetime) -> DomainError | None:
        """Why this order cannot be cancelled now, or None: only PAID, only within 24 h of payment, and
        not while one of its cancellations is under way."""
        if self.status != OrderStatus.PAID or self.paid_at is None:
            return DomainError("ORDER_NOT_CANCELLABLE", f"an order that is {self.status} cannot be cancelled")
        if now >= self.paid_at + CANCEL_WINDOW:
            return DomainError(
                "CANCEL_WINDOW_EXPIRED", "an order can be cancelled within 24 hours of payment"
            )
        if self.pending_cancellation is not None:
            return DomainError(
                "ORDER_NOT_CANCELLABLE",
                "a cancellation of this order is under way; ask again once it is done",
            )
        return None

    def can_cancel(self, now: datetime) -> bool:
        return self.cancel_refusal(now) is None

    def mark_paid(self, at: datetime, leg_statuses: Mapping[Method, str]) -> Order:
        return replace(self._move(OrderStatus.PAID, at, "PAYMENT_COMPLETED", leg_statuses), paid_at=at)

    def mark_failed(self, at: datetime, reason: str, leg_statuses: Mapping[Method, str]) -> Order:
        failed = self._move(OrderStatus.FAILED, at, "PAYMENT_FAILED", leg_statuses, detail=reason)
        return replace(failed, failure_reason=reason)

    def request_cancellation(
        self,
        at: datetime,
        cancellation_id: str = "",
        requested: Sequence[tuple[str, int]] | None = None,
        reason: str | None = None,
    ) -> Order:
        """Cancel what `requested` names, or everything open (None). Cancelling all that is open is the
        whole cancel (CANCELLING until refunded); less keeps the order PAID with its cancellation pending."""
        refusal = self.cancel_refusal(at)
        if refusal is not None:
            raise refusal
        items = lines_to_cancel(self.items, requested)
        price = {line.product_id: line.unit_price for line in self.items}
        refund = sum(price[i.product_id] * i.quantity for i in items)
        whole = sum(i.quantity for i in items) == sum(line.open_quantity for line in self.items)
        amounts = {leg.method: leg.amount for leg in self.payments}
        refunded = {leg.method: leg.refunded_amount for leg in self.payments}
        preview = shares_of(amounts, refund, refunded)
        cancellation = Cancellation(
            cancellation_id or new_id("cnl"), items, refund, at, whole, preview, reason=reason
        )
        if whole:
            moved = self._move(OrderStatus.CANCELLING, at, "CANCELLATION_REQUESTED", {})
        else:
            entry = TimelineEntry(at, "PARTIAL_CANCELLATION_REQUESTED", cancellation.describe())
            moved = replace(self, timeline=(*self.timeline, entry))
        return replace(moved, cancellations=(*self.cancellations, cancellation))

    def mark_partially_refunded(
        self, cancellation_id: str, refunds: Sequence[Share], at: datetime
    ) -> Order | None:
        """The partial cancellation's refund went through: its quantities are cancelled, each leg's share
        refunded; the order stays PAID. None if no such partial cancellation is pending (a stale event)."""
        pending = self.pending_cancellation
        if (
            self.status != OrderStatus.PAID
            or pending is None
            or pending.id != cancellation_id
            or pending.whole
        ):
            return None
        done = replace(pending, refunds=tuple(refunds), refunded_at=at)
        given = {share.method: share.amount for share in refunds}
        legs = tuple(
            replace(leg, refunded_amount=leg.refunded_amount + given.get(leg.method, 0))
            for leg in self.payments
        )
        entry = TimelineEntry(at, "ORDER_PARTIALLY_CANCELLED", done.describe())
        return replace(
            self,
            items=with_cancelled(self.items, pending.items),
            payments=legs,
            timeline=(*self.timeline, entry),
            cancellations=tuple(done if c.id == pending.id else c for c in self.cancellations),
        )

    def mark_cancelled(self, at: datetime, leg_statuses: Mapping[Method, str]) -> Order:
        """The refund went through: both the refund and the cancellation go on the timeline; every line is
        cancelled and every leg refunded (the coupon's share as bookkeeping)."""
        refunded = replace(self, timeline=(*self.timeline, TimelineEntry(at, "PAYMENT_REFUNDED")))
        cancelled = refunded._move(OrderStatus.CANCELLED, at, "ORDER_CANCELLED", leg_statuses)
        shares = tuple(
            Share(leg.method, leg.amount - leg.refunded_amount)
            for leg in self.payments
            if leg.amount > leg.refunded_amount
        )
        cancellations = tuple(
            replace(c, refunds=shares, refunded_at=at) if c.pending else c for c in self.cancellations
        )
        return replace(
            cancelled,
            cancelled_at=at,
            items=tuple(replace(line, cancelled_quantity=line.quantity) for line in self.items),
            payments=tuple(replace(leg, refunded_amount=leg.amount) for leg in cancelled.payments),
            cancellations=cancellations,
        )

    def nudged(self, at: datetime) -> Order:
        """Its saga, stuck, was announced again (the timeline says so, and dates the order anew)."""
        entry = TimelineEntry(at, "SAGA_NUDGED", f"still {self.status.value}")
        return replace(self, timeline=(*self.timeline, entry))

    def _move(
        self,
        to: OrderStatus,
        at: datetime,
        event: str,
        leg_statuses: Mapping[Method, str],
        detail: str | None = None,
    ) -> Order:
        if not self.can_move_to(to):
            raise DomainError("ORDER_STATUS_CONFLICT", f"an order that is {self.status} cannot become {to}")
        legs = tuple(replace(leg, status=leg_statuses.get(leg.method, leg.status)) for leg in self.payments)
        timeline = (*self.timeline, TimelineEntry(at, event, detail))
        return replace(self, status=to, payments=legs, timeline=timeline)
