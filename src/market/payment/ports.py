"""What the payment use cases need from the outside: storage, the member's points, the PG and BNPL, metrics."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from market.kernel.coupons import CouponDefinition, IssuedCoupon
from market.kernel.messaging import Inbox, Outbox
from market.payment.domain.payment import Payment, PaymentStatus


class GatewayTimeout(Exception):
    """The PG or BNPL gave no answer: the call may or may not have taken effect. Never guess; look it up."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} did not answer")
        self.what = what


class LeaseLost(Exception):
    """Another runner claimed the payment (its attempt is newer): this runner must stop driving it."""


@dataclass(frozen=True)
class InFlight:
    """The payments the saga has not finished, as the reconciler counts them."""

    by_status: dict[str, int]  # PROCESSING, COMPENSATING, REFUNDING: how many in each
    lease_expired: int  # their runner went away: the reconciler resumes them on its next run
    oldest_update: datetime | None  # the least recently moved one's last step


class PaymentRepository(Protocol):
    async def add(self, payment: Payment) -> bool:
        """Store a new payment; False (and nothing written) if the order already has one."""
        ...

    async def get(self, order_id: str) -> Payment | None: ...

    async def save(self, payment: Payment) -> None:
        """Write the payment back; raises LeaseLost if its attempt is no longer the stored one."""
        ...

    async def claim(
        self, order_id: str, attempts: int, status: PaymentStatus, now: datetime, lease: datetime
    ) -> bool:
        """Take the payment over (attempts + 1, lease) if it is still at `attempts` and `status`, unleased."""
        ...

    async def due(self, now: datetime, limit: int) -> list[Payment]:
        """Payments in flight (PROCESSING, COMPENSATING, REFUNDING) whose lease has expired, oldest lease first."""
        ...

    async def in_flight(self, now: datetime) -> InFlight:
        """The payments in flight (PROCESSING, COMPENSATING, REFUNDING), counted."""
        ...

    async def failed_due(self, since: datetime, now: datetime, limit: int) -> list[Payment]:
        """FAILED payments, failed at or after `since`, whose next orphan-charge check is due."""
        ...

    async def reschedule(self, order_id: str, seen: datetime, after: datetime) -> bool:
        """Move a FAILED payment's next check from `seen` to `after`; False if another runner already did."""
        ...


class CouponRepository(Protocol):
    async def add_definition(self, definition: CouponDefinition, now: datetime) -> None: ...

    async def get_definition(self, coupon_id: str) -> CouponDefinition | None: ...

    async def issue(self, coupon: IssuedCoupon, now: datetime) -> None: ...

    async def get_issued(self, issued_id: str) -> IssuedCoupon | None: ...

    async def issued_to(self, member_id: str, limit: int, before: str | None = None) -> list[IssuedCoupon]:
        """The member's issued coupons, newest first, with ids below `before` when given."""
        ...

    async def redeem(self, issued_id: str, member_id: str, order_id: str, now: datetime) -> bool:
        """AVAILABLE → USED by the order (True); also True if this order already holds it; else False."""
        ...

    async def restore(self, issued_id: str, order_id: str) -> bool:
        """USED by this order → AVAILABLE again; False if the order did not hold it."""
        ...


class UnitOfWork(Protocol):
    payments: PaymentRepository
    coupons: CouponRepository
    outbox: Outbox
    inbox: Inbox


UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


class PointsAccount(Protocol):
    """The member service's point balance, as payment uses it."""

    async def balance(self, member_id: str) -> int:
        """The member's point balance; raises NotFound for an unknown member."""
        ...

    async def use_points(self, member_id: str, order_id: str, amount: int) -> None:
        """Take points for an order, once per order id; raises DomainError INSUFFICIENT_POINTS."""
        ...

    async def refund_points(
        self, member_id: str, order_id: str, amount: int | None = None, refund_id: str = ""
    ) -> int:
        """Give back what the order still holds (`amount` None), once per order; or `amount` of it, once per
        `refund_id` (a partial cancellation). What was given back; a repeat answers the same, moving nothing."""
        ...


@dataclass(frozen=True)
class Cancel:
    """One cancel of a card charge or a BNPL contract, as the provider lists it."""

    transaction_key: str
    amount: int
    reason: str


@dataclass(frozen=True)
class CardCharge:
    """A card payment as the PG knows it. `payment_key` is the PG's own key for this charge."""

    payment_key: str
    order_id: str
    status: str  # DONE | CANCELED | PARTIAL_CANCELED
    total_amount: int
    balance_amount: int
    approved_at: datetime | None = None
    cancels: tuple[Cancel, ...] = ()


DONE = "DONE"
CANCELED = "CANCELED"
PARTIAL_CANCELED = "PARTIAL_CANCELED"


class CardGateway(Protocol):
    """The PG. Declines raise DomainError("PG_DECLINED"); no answer raises GatewayTimeout; unreachable, Unavailable."""

    async def confirm(self, payment_key: str, order_id: str, amount: int) -> CardCharge:
        """Charge the card the client authorised (`payment_key`) for the order; safe to retry."""
        ...

    async def cancel(
        self, pg_payment_key: str, reason: str, amount: int | None = None, request_id: str | None = None
    ) -> CardCharge:
        """Cancel the whole remaining balance (amount None) or part of it. The same cancel sent twice is
        done once: the balance's cancel is one per charge, a partial one is one per `request_id`."""
        ...

    async def lookup(self, order_id: str) -> CardCharge | None:
        """The PG's charge for the order, or None if it holds none."""
        ...


@dataclass(frozen=True)
class BnplContract:
    contract_id: str
    order_id: str
    amount: int
    status: str  # APPROVED | PARTIAL_CANCELED | CANCELED
    balance_amount: int | None = None
    cancels: tuple[Cancel, ...] = ()


class BnplGateway(Protocol):
    """Buy now, pay later. Refusals raise DomainError("BNPL_REJECTED"); no answer raises GatewayTimeout."""

    async def approve(self, payment_key: str, order_id: str, member_id: str, amount: int) -> BnplContract: ...

    async def cancel(
        self, order_id: str, amount: int | None = None, request_id: str | None = None, reason: str = ""
    ) -> BnplContract | None:
        """Cancel the order's contract (amount None; harmless when already cancelled) or `amount` of it,
        once per `request_id`; None if there is none."""
        ...

    async def lookup(self, order_id: str) -> BnplContract | None: ...


class PaymentMetrics(Protocol):
    def observe(self, method: str, action: str, outcome: str, seconds: float) -> None:
        """One step of a payment method (take / give_back) and how it ended."""
        ...

    def reconciled(self, in_flight: InFlight, resumed: int, at: datetime) -> None:
        """One run of the reconciler: what was in flight after it, how many payments it took over."""
        ...
