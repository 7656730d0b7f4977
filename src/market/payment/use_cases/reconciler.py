"""The reconciler: resumes payments whose runner went away, and cancels card charges left without an order."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from market.kernel.clock import Clock
from market.kernel.errors import DomainError, Unavailable
from market.kernel.plan import Method
from market.payment.domain.payment import IN_FLIGHT, Payment
from market.payment.ports import (
    DONE,
    PARTIAL_CANCELED,
    CardGateway,
    GatewayTimeout,
    PaymentMetrics,
    UnitOfWorkFactory,
)
from market.payment.use_cases.saga import PaymentSaga

log = logging.getLogger("market.payment.reconciler")

BATCH = 100


class Reconciler:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        saga: PaymentSaga,
        card: CardGateway,
        lease: timedelta,
        orphan_window: timedelta,
        orphan_check_every: timedelta,
        metrics: PaymentMetrics,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._saga = saga
        self._card = card
        self._lease = lease
        self._orphan_window = orphan_window
        self._orphan_check_every = orphan_check_every
        self._metrics = metrics

    async def run_once(self) -> int:
        """Drive every in-flight payment whose lease expired, then sweep orphan charges; how many it touched.
        What is still in flight after the run goes to the metrics (the operators' console reads them)."""
        now = self._clock.now()
        async with self._uow() as uow:
            due = await uow.payments.due(now, BATCH)
        touched = 0
        for stale in due:
            payment = await self._claim(stale.order_id, now)
            if payment is None:
                continue
            touched += 1
            try:
                await self._saga.drive(payment)
            except Exception:
                log.exception(
                    "reconciling the payment of %s failed; its lease will expire again", stale.order_id
                )
        swept = await self._sweep_orphans(now)
        async with self._uow() as uow:
            in_flight = await uow.payments.in_flight(self._clock.now())
        self._metrics.reconciled(in_flight, touched, now)
        return touched + swept

    async def _claim(self, order_id: str, now: datetime) -> Payment | None:
        """Take the payment over by a conditional update, so two runners never drive the same payment."""
        async with self._uow() as uow:
            payment = await uow.payments.get(order_id)
            if payment is None or payment.status not in IN_FLIGHT:
                return None
            if payment.lease_until is not None and payment.lease_until > now:
                return None
            lease = now + self._lease
            if not await uow.payments.claim(order_id, payment.attempts, payment.status, now, lease):
                return None
        payment.claim(lease)
        log.info("resuming the %s payment of %s (attempt %d)", payment.status, order_id, payment.attempts)
        return payment

    async def _sweep_orphans(self, now: datetime) -> int:
        """No card charge may outlive its order: for payments that failed within the window after reaching
        the PG, ask the PG what it holds for the order and cancel it. Each is checked again every so often,
        since an ambiguous confirm may land at the PG after the payment was failed."""
        async with self._uow() as uow:
            failed = await uow.payments.failed_due(now - self._orphan_window, now, BATCH)
        cancelled = 0
        for payment in failed:
            pg = payment.leg(Method.PG)
            if pg is None or pg.started_at is None or payment.lease_until is None:
                continue
            async with self._uow() as uow:
                mine = await uow.payments.reschedule(
                    payment.order_id, payment.lease_until, now + self._orphan_check_every
                )
            if mine and await self._cancel_orphan(payment.order_id):
                cancelled += 1
        return cancelled

    async def _cancel_orphan(self, order_id: str) -> bool:
        try:
            charge = await self._card.lookup(order_id)
            if charge is None or charge.status not in (DONE, PARTIAL_CANCELED) or charge.balance_amount == 0:
                return False
            await self._card.cancel(charge.payment_key, "order failed: charge without an order")
        except (Unavailable, GatewayTimeout, DomainError) as exc:
            log.warning("orphan check of %s failed (%s); will check again", order_id, exc)
            return False
        log.warning(
            "cancelled an orphan card charge of %d won for failed order %s", charge.balance_amount, order_id
        )
        return True
