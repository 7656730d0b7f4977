"""One processor per payment method (strategy); `observed.processors` is the dict from method to processor
(factory), each wrapped in the decorator that logs and times it.

`take` does the method's one outbound effect and returns the provider's reference for it (the PG's payment
key, the BNPL contract id, or None); the saga records the result on the leg and persists it. Every `take`
and `give_back` is idempotent per order, and every `give_part` per refund id, so a resumed saga may call
them again. A give-back that times out is resolved by asking the provider what it holds, never by guessing:
a partial cancel is recognised among the charge's cancels by its refund id, which its reason carries.
"""

from __future__ import annotations

from typing import Protocol

from market.kernel.clock import Clock
from market.kernel.errors import DomainError
from market.payment.domain.payment import Payment, PaymentLeg
from market.payment.ports import (
    DONE,
    BnplContract,
    BnplGateway,
    Cancel,
    CardCharge,
    CardGateway,
    GatewayTimeout,
    PointsAccount,
    UnitOfWorkFactory,
)


class Processor(Protocol):
    async def take(self, payment: Payment, leg: PaymentLeg) -> str | None:
        """Take the leg's amount; raises DomainError(code) when refused."""
        ...

    async def give_back(self, payment: Payment, leg: PaymentLeg, reason: str) -> int:
        """Give back all the leg has left; what went back to the member by this call."""
        ...

    async def give_part(self, payment: Payment, leg: PaymentLeg, amount: int, refund_id: str) -> int:
        """Give back `amount` of the leg for a partial cancellation, once per `refund_id`; what went back."""
        ...


class CouponProcessor:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def take(self, payment: Payment, leg: PaymentLeg) -> str | None:
        async with self._uow() as uow:
            redeemed = await uow.coupons.redeem(
                leg.coupon_id or "", payment.member_id, payment.order_id, self._clock.now()
            )
        if not redeemed:
            raise DomainError("COUPON_NOT_APPLICABLE", "the coupon was used or withdrawn meanwhile")
        return None

    async def give_back(self, payment: Payment, leg: PaymentLeg, reason: str) -> int:
        """A failed or wholly cancelled order lets go of its coupon: the member has it back, unless its
        validity has passed (then it shows EXPIRED and can never be used). The leg's share is bookkeeping:
        all it had left counts as given back."""
        async with self._uow() as uow:
            await uow.coupons.restore(leg.coupon_id or "", payment.order_id)
        return leg.amount - leg.refunded_amount

    async def give_part(self, payment: Payment, leg: PaymentLeg, amount: int, refund_id: str) -> int:
        """Bookkeeping only: the coupon comes back only with the whole order (SPEC §10.3)."""
        return amount


class PointProcessor:
    def __init__(self, points: PointsAccount) -> None:
        self._points = points

    async def take(self, payment: Payment, leg: PaymentLeg) -> str | None:
        await self._points.use_points(payment.member_id, payment.order_id, leg.amount)
        return None

    async def give_back(self, payment: Payment, leg: PaymentLeg, reason: str) -> int:
        return await self._points.refund_points(payment.member_id, payment.order_id)

    async def give_part(self, payment: Payment, leg: PaymentLeg, amount: int, refund_id: str) -> int:
        return await self._points.refund_points(payment.member_id, payment.order_id, amount, refund_id)


class CardProcessor:
    """PG confirm. An ambiguous answer is never guessed: the PG is asked what it holds for the order."""

    def __init__(self, card: CardGateway) -> None:
        self._card = card

    async def take(self, payment: Payment, leg: PaymentLeg) -> str | None:
        if payment.attempts > 1:
            # A resumed attempt: an earlier one may have charged already.
            found = await self._card.lookup(payment.order_id)
            if found is not None:
                return _accepted(found, leg)
        try:
            charge = await self._card.confirm(leg.payment_key or "", payment.order_id, leg.amount)
        except GatewayTimeout:
            # If this lookup fails too, the exception leaves the payment to the reconciler.
            found = await self._card.lookup(payment.order_id)
            if found is None:
                raise DomainError(
                    "PG_TIMEOUT", "the PG did not answer and holds no charge for this order"
                ) from None
            charge = found
        return _accepted(charge, leg)

    async def give_back(self, payment: Payment, leg: PaymentLeg, reason: str) -> int:
        if leg.pg_payment_key is None:
            return 0
        try:
            charge = await self._card.cancel(leg.pg_payment_key, reason)
        except GatewayTimeout:
            found = await self._card.lookup(payment.order_id)
            if found is None or found.balance_amount > 0:
                raise  # not cancelled (yet): the reconciler sends the same cancel again
            charge = found
        return max(0, leg.amount - charge.balance_amount - leg.refunded_amount)

    async def give_part(self, payment: Payment, leg: PaymentLeg, amount: int, refund_id: str) -> int:
        if leg.pg_payment_key is None:
            return 0
        try:
            await self._card.cancel(leg.pg_payment_key, _reason(refund_id), amount, refund_id)
        except GatewayTimeout:
            found = await self._card.lookup(payment.order_id)
            if found is None or (done := _cancelled(found.cancels, refund_id)) is None:
                raise  # not cancelled (yet): the reconciler sends the same cancel again
            return done
        return amount


def _accepted(charge: CardCharge, leg: PaymentLeg) -> str:
    if charge.status != DONE or charge.total_amount != leg.amount:
        # Not the charge this leg asked for; the orphan sweep cancels whatever the PG holds.
        raise DomainError(
            "PG_DECLINED", f"the PG holds a {charge.status} charge of {charge.total_amount} won"
        )
    return charge.payment_key


class BnplProcessor:
    def __init__(self, bnpl: BnplGateway) -> None:
        self._bnpl = bnpl

    async def take(self, payment: Payment, leg: PaymentLeg) -> str | None:
        if payment.attempts > 1:
            found = await self._bnpl.lookup(payment.order_id)
            if found is not None:
                return _contracted(found, leg)
        try:
            contract = await self._bnpl.approve(
                leg.payment_key or "", payment.order_id, payment.member_id, leg.amount
            )
        except GatewayTimeout:
            found = await self._bnpl.lookup(payment.order_id)
            if found is None:
                raise DomainError("BNPL_TIMEOUT", "BNPL did not answer and holds no contract") from None
            contract = found
        return _contracted(contract, leg)

    async def give_back(self, payment: Payment, leg: PaymentLeg, reason: str) -> int:
        try:
            contract = await self._bnpl.cancel(payment.order_id)
        except GatewayTimeout:
            contract = await self._bnpl.lookup(payment.order_id)
            if contract is not None and contract.status != "CANCELED":
                raise  # not cancelled (yet): the reconciler sends the same cancel again
        return leg.amount - leg.refunded_amount if contract is not None else 0

    async def give_part(self, payment: Payment, leg: PaymentLeg, amount: int, refund_id: str) -> int:
        try:
            await self._bnpl.cancel(payment.order_id, amount, refund_id, _reason(refund_id))
        except GatewayTimeout:
            found = await self._bnpl.lookup(payment.order_id)
            if found is None or (done := _cancelled(found.cancels, refund_id)) is None:
                raise
            return done
        return amount


def _contracted(contract: BnplContract, leg: PaymentLeg) -> str:
    if contract.status != "APPROVED" or contract.amount != leg.amount:
        raise DomainError(
            "BNPL_REJECTED", f"BNPL holds a {contract.status} contract of {contract.amount} won"
        )
    return contract.contract_id


def _reason(refund_id: str) -> str:
    """A partial cancel's reason at the provider: it names the refund, so a lookup can recognise it."""
    return f"partial cancellation {refund_id}"


def _cancelled(cancels: tuple[Cancel, ...], refund_id: str) -> int | None:
    """What the provider cancelled for this refund, or None if it holds no such cancel."""
    return next((c.amount for c in cancels if c.reason == _reason(refund_id)), None)
