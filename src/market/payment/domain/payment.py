"""The Payment aggregate: one order's payment, its legs, and the saga states it moves through.

PROCESSING → COMPLETED | COMPENSATING → FAILED, and COMPLETED → REFUNDING → REFUNDED for the whole order;
a partial cancellation's refund goes COMPLETED → REFUNDING → COMPLETED (`refunds`, one at a time).
`attempts` counts the drives that claimed the payment (the first one included); it doubles as a fencing
token, so a runner whose lease was taken over cannot write. `lease_until` says until when the current
runner holds it; once it has passed, the reconciler may claim the payment and drive it on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from market.kernel.events import (
    Envelope,
    LegOutcome,
    PaymentCompleted,
    PaymentFailed,
    PaymentPartiallyRefunded,
    PaymentRefunded,
    envelope,
)
from market.kernel.money import Won
from market.kernel.plan import Leg, Method
from market.kernel.refunds import allocate
from market.payment.domain.refunds import WHOLE, Refund


class PaymentStatus(StrEnum):
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    COMPENSATING = "COMPENSATING"
    FAILED = "FAILED"
    REFUNDING = "REFUNDING"
    REFUNDED = "REFUNDED"


class LegStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"
    SKIPPED = "SKIPPED"


# Sub-payments first (coupon, then points), the main method (PG or BNPL) last.
TAKING_ORDER = {Method.COUPON: 0, Method.POINT: 1, Method.PG: 2, Method.BNPL: 2}
IN_FLIGHT = frozenset({PaymentStatus.PROCESSING, PaymentStatus.COMPENSATING, PaymentStatus.REFUNDING})


@dataclass
class PaymentLeg:
    method: Method
    amount: Won
    payment_key: str | None = None
    coupon_id: str | None = None
    status: LegStatus = LegStatus.PENDING
    started_at: datetime | None = None
    approved_at: datetime | None = None
    refunded_amount: Won = 0
    refunded_at: datetime | None = None
    pg_payment_key: str | None = None
    contract_id: str | None = None

    def outcome(self) -> LegOutcome:
        """The leg as events carry it."""
        return LegOutcome(self.method, self.amount, self.status.value)


@dataclass
class Payment:
    order_id: str
    member_id: str
    total_amount: Won
    legs: list[PaymentLeg]
    created_at: datetime
    updated_at: datetime
    status: PaymentStatus = PaymentStatus.PROCESSING
    failure_reason: str | None = None
    attempts: int = 1
    lease_until: datetime | None = None
    completed_at: datetime | None = None
    refunded_at: datetime | None = None
    refunds: list[Refund] = field(default_factory=list)
    events: list[Envelope] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def open(
        cls,
        order_id: str,
        member_id: str,
        total_amount: int,
        legs: Sequence[Leg],
        now: datetime,
        lease: datetime,
    ) -> Payment:
        """A new payment of an order, held by the runner that opens it until `lease`."""
        own = [PaymentLeg(leg.method, leg.amount, leg.payment_key, leg.coupon_id) for leg in legs]
        return cls(order_id, member_id, total_amount, own, now, now, lease_until=lease)

    def plan(self) -> tuple[Leg, ...]:
        """The legs as the rule table sees them."""
        return tuple(Leg(leg.method, leg.amount, leg.payment_key, leg.coupon_id) for leg in self.legs)

    def in_taking_order(self) -> list[PaymentLeg]:
        return sorted(self.legs, key=lambda leg: TAKING_ORDER[leg.method])

    @property
    def validated(self) -> bool:
        """The validation chain passed: the first leg is only started after it did."""
        return any(leg.started_at is not None for leg in self.legs)

    def leg(self, method: Method) -> PaymentLeg | None:
        return next((leg for leg in self.legs if leg.method == method), None)

    def claim(self, lease: datetime) -> None:
        """A new runner takes the payment over (its own attempt) until `lease`."""
        self.attempts += 1
        self.lease_until = lease

    def start(self, leg: PaymentLeg, now: datetime) -> None:
        """The leg is about to be taken: from here on, it may have been."""
        leg.started_at = leg.started_at or now

    def approve(self, leg: PaymentLeg, now: datetime, reference: str | None = None) -> None:
        leg.status = LegStatus.APPROVED
        leg.approved_at = now
        if leg.method == Method.PG:
            leg.pg_payment_key = reference
        elif leg.method == Method.BNPL:
            leg.contract_id = reference

    def refuse(self, leg: PaymentLeg | None, reason: str) -> None:
        """A leg was refused (or the plan broke a rule): give back what was taken, then fail."""
        self._expect(PaymentStatus.PROCESSING)
        if leg is not None:
            leg.status = LegStatus.FAILED
        for other in self.legs:
            if other.status == LegStatus.PENDING:
                other.status = LegStatus.SKIPPED
        self.status = PaymentStatus.COMPENSATING
        self.failure_reason = reason

    def cancel(self, leg: PaymentLeg) -> None:
        """A leg taken for a payment that then failed has been given back."""
        leg.status = LegStatus.CANCELLED

    def complete(self, now: datetime) -> None:
        self._expect(PaymentStatus.PROCESSING)
        self.status = PaymentStatus.COMPLETED
        self.completed_at = now
        self.lease_until = None
        self.events.append(
            envelope(PaymentCompleted(self.member_id, self._outcomes(), now), self.order_id, now)
        )

    def fail(self, now: datetime) -> None:
        """Everything taken was given back. A started PG leg stays due for the orphan-charge sweep."""
        self._expect(PaymentStatus.COMPENSATING)
        self.status = PaymentStatus.FAILED
        pg = self.leg(Method.PG)
        self.lease_until = now if pg is not None and pg.started_at is not None else None
        reason = self.failure_reason or "PAYMENT_FAILED"
        self.events.append(
            envelope(PaymentFailed(self.member_id, self._outcomes(), reason), self.order_id, now)
        )

    def begin_refund(self, now: datetime) -> None:
        """The whole order is cancelled: every leg gives back what it has left."""
        self._expect(PaymentStatus.COMPLETED)
        left = {leg.method: leg.amount - leg.refunded_amount for leg in self.legs}
        self.refunds.append(Refund(WHOLE, sum(left.values()), left, now))
        self.status = PaymentStatus.REFUNDING

    def begin_partial_refund(self, refund_id: str, amount: Won, now: datetime) -> bool:
        """Part of the order is cancelled: `amount` won split over the legs (SPEC §10.3). False (nothing
        changes) if this refund was already asked for; ValueError if more than is left is asked."""
        self._expect(PaymentStatus.COMPLETED)
        if any(r.id == refund_id for r in self.refunds):
            return False
        amounts = {leg.method: leg.amount for leg in self.legs}
        refunded = {leg.method: leg.refunded_amount for leg in self.legs}
        self.refunds.append(Refund(refund_id, amount, allocate(amounts, amount, refunded), now))
        self.status = PaymentStatus.REFUNDING
        return True

    def current_refund(self, now: datetime) -> Refund:
        """The refund under way (a REFUNDING payment from before refunds were recorded: the whole one)."""
        self._expect(PaymentStatus.REFUNDING)
        current = next((r for r in self.refunds if r.open), None)
        if current is None:
            left = {leg.method: leg.amount - leg.refunded_amount for leg in self.legs}
            current = Refund(WHOLE, sum(left.values()), left, now)
            self.refunds.append(current)
        return current

    def give(self, leg: PaymentLeg, refund: Refund, amount: Won, now: datetime) -> None:
        """The leg gave back `amount` for `refund` (once the whole order's is given, the leg is REFUNDED)."""
        leg.refunded_amount += amount
        leg.refunded_at = now
        refund.given[leg.method] = amount
        if refund.whole:
            leg.status = LegStatus.REFUNDED

    def finish_refund(self, now: datetime) -> None:
        """Every leg gave back its share: PaymentRefunded (the whole order, REFUNDED) or
        PaymentPartiallyRefunded (COMPLETED again)."""
        refund = self.current_refund(now)
        refund.refunded_at = now
        self.lease_until = None
        if refund.whole:
            self.status = PaymentStatus.REFUNDED
            self.refunded_at = now
            payload: PaymentRefunded | PaymentPartiallyRefunded = PaymentRefunded(
                self.member_id, self._outcomes(), now
            )
        else:
            self.status = PaymentStatus.COMPLETED
            payload = PaymentPartiallyRefunded(self.member_id, refund.id, refund.given_back(), now)
        self.events.append(envelope(payload, self.order_id, now))

    def _expect(self, status: PaymentStatus) -> None:
        if self.status != status:
            raise ValueError(f"payment of {self.order_id} is {self.status}, not {status}")

    def _outcomes(self) -> tuple[LegOutcome, ...]:
        return tuple(leg.outcome() for leg in self.legs)
