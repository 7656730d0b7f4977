"""The payment saga of one order: take every leg (sub-payments first, the main method last), or give back
what was taken and fail; on the order's cancellation, refund every leg.

A new payment is validated before it is first stored (`open`), so its first write already says how
validation ended: refused (FAILED), or accepted with its first leg started. From there the payment is
persisted after each step, never inside an outbound call, so a runner that dies (or loses its lease)
leaves a payment that the reconciler can drive on from where it stood. Each step is idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from market.kernel.clock import Clock
from market.kernel.errors import DomainError, Unavailable
from market.kernel.plan import Method
from market.payment.domain.payment import IN_FLIGHT, LegStatus, Payment, PaymentLeg, PaymentStatus
from market.payment.ports import GatewayTimeout, LeaseLost, PointsAccount, UnitOfWorkFactory
from market.payment.use_cases.processors import Processor
from market.payment.use_cases.validation import broken_rule

log = logging.getLogger("market.payment")

CANCELLED_ORDER = "order cancelled"


class PaymentSaga:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        points: PointsAccount,
        processors: Mapping[Method, Processor],
        lease: timedelta,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._points = points
        self._processors = processors
        self._lease = lease

    async def open(self, payment: Payment) -> None:
        """Validate a new payment before its first write, so that write carries the outcome: refused, the
        payment is FAILED with its PaymentFailed event; accepted, its first leg is started (it may be taken
        from here on). Raises Unavailable when validation cannot run: the payment stays unvalidated."""
        if not await self._accepted(payment):
            payment.fail(self._clock.now())  # nothing was taken: nothing to give back
        else:
            pending = self._pending(payment)
            if pending:
                payment.start(pending[0], self._clock.now())
        self._stamp(payment)

    async def drive(self, payment: Payment) -> None:
        """Move the payment as far as it goes now. When an outcome is unknown (a dependency unreachable, no
        answer) the payment stays leased where it stands, and the reconciler resumes it once the lease ends."""
        try:
            if payment.status == PaymentStatus.PROCESSING:
                await self._charge(payment)
            if payment.status == PaymentStatus.COMPENSATING:
                await self._compensate(payment)
            if payment.status == PaymentStatus.REFUNDING:
                await self._refund(payment)
        except (Unavailable, GatewayTimeout) as exc:
            log.warning("payment %s stays %s for the reconciler: %s", payment.order_id, payment.status, exc)
        except LeaseLost:
            log.info("payment %s was taken over by another runner", payment.order_id)
        except DomainError as exc:
            # Only giving back can get here (a PG refusing a cancel): retried by the reconciler.
            log.error("payment %s could not be given back (%s); will retry", payment.order_id, exc)

    async def _charge(self, payment: Payment) -> None:
        # Validated on opening, unless that could not run; a refusal is failed (and saved) by _compensate.
        if not payment.validated and not await self._accepted(payment):
            return
        pending = self._pending(payment)
        if pending and pending[0].started_at is None:
            payment.start(pending[0], self._clock.now())
            await self._save(payment)
        for i, leg in enumerate(pending):
            try:
                reference = await self._processors[leg.method].take(payment, leg)
            except DomainError as refusal:
                payment.refuse(leg, refusal.code)
                await self._save(payment)
                return
            now = self._clock.now()
            payment.approve(leg, now, reference)
            if i + 1 < len(pending):
                payment.start(pending[i + 1], now)
                await self._save(payment)
        payment.complete(self._clock.now())
        await self._save(payment)

    async def _compensate(self, payment: Payment) -> None:
        reason = f"payment failed: {payment.failure_reason}"
        for leg in reversed(payment.in_taking_order()):
            if leg.status == LegStatus.APPROVED:
                await self._processors[leg.method].give_back(payment, leg, reason)
                payment.cancel(leg)
                await self._save(payment)
        payment.fail(self._clock.now())
        await self._save(payment)

    async def _refund(self, payment: Payment) -> None:
        """The refund under way, leg by leg (the main method first); each leg's step is saved, so a resumed
        drive gives back only the legs not yet given back. The whole order's refund gives back all every
        leg has left (the coupon included); a partial one each leg's share, skipping those with none."""
        refund = payment.current_refund(self._clock.now())
        for leg in reversed(payment.in_taking_order()):
            share = refund.shares.get(leg.method, 0)
            if leg.method in refund.given or leg.status != LegStatus.APPROVED:
                continue
            if not refund.whole and share == 0:
                continue
            processor = self._processors[leg.method]
            if refund.whole:
                amount = await processor.give_back(payment, leg, CANCELLED_ORDER)
            else:
                amount = await processor.give_part(payment, leg, share, refund.id)
            payment.give(leg, refund, amount, self._clock.now())
            await self._save(payment)
        payment.finish_refund(self._clock.now())
        await self._save(payment)

    async def _accepted(self, payment: Payment) -> bool:
        """Run the validation chain; a broken rule refuses the payment (COMPENSATING, every leg SKIPPED)."""
        error = await broken_rule(payment, self._uow, self._points, self._clock)
        if error is not None:
            payment.refuse(None, error.code)
        return error is None

    @staticmethod
    def _pending(payment: Payment) -> list[PaymentLeg]:
        return [leg for leg in payment.in_taking_order() if leg.status != LegStatus.APPROVED]

    def _stamp(self, payment: Payment) -> None:
        """Date the step about to be written, and renew the lease of a payment still in flight."""
        now = self._clock.now()
        payment.updated_at = now
        if payment.status in IN_FLIGHT:
            payment.lease_until = now + self._lease

    async def _save(self, payment: Payment) -> None:
        """Persist the step (and the events it raised, in the same transaction); renew the lease."""
        self._stamp(payment)
        async with self._uow() as uow:
            await uow.payments.save(payment)
            for envelope in payment.events:
                await uow.outbox.add(envelope)
        payment.events.clear()
