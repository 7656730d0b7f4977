"""The decorator around any payment processor: it logs each step and times it into `PaymentMetrics`."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from market.kernel.clock import Clock
from market.kernel.errors import DomainError, Unavailable
from market.kernel.plan import Method
from market.payment.domain.payment import Payment, PaymentLeg
from market.payment.ports import (
    BnplGateway,
    CardGateway,
    GatewayTimeout,
    InFlight,
    PaymentMetrics,
    PointsAccount,
    UnitOfWorkFactory,
)
from market.payment.use_cases.processors import (
    BnplProcessor,
    CardProcessor,
    CouponProcessor,
    PointProcessor,
    Processor,
)

log = logging.getLogger("market.payment")


class Observed:
    """Logs and times every step of the processor it wraps."""

    def __init__(self, method: Method, inner: Processor, metrics: PaymentMetrics) -> None:
        self._method = method
        self._inner = inner
        self._metrics = metrics

    async def take(self, payment: Payment, leg: PaymentLeg) -> str | None:
        start = time.perf_counter()
        try:
            reference = await self._inner.take(payment, leg)
        except Exception as exc:
            self._record("take", payment, _outcome(exc), start, exc)
            raise
        self._record("take", payment, "ok", start)
        return reference

    async def give_back(self, payment: Payment, leg: PaymentLeg, reason: str) -> int:
        start = time.perf_counter()
        try:
            amount = await self._inner.give_back(payment, leg, reason)
        except Exception as exc:
            self._record("give_back", payment, _outcome(exc), start, exc)
            raise
        self._record("give_back", payment, "ok", start)
        return amount

    async def give_part(self, payment: Payment, leg: PaymentLeg, amount: int, refund_id: str) -> int:
        start = time.perf_counter()
        try:
            given = await self._inner.give_part(payment, leg, amount, refund_id)
        except Exception as exc:
            self._record("give_part", payment, _outcome(exc), start, exc)
            raise
        self._record("give_part", payment, "ok", start)
        return given

    def _record(
        self, action: str, payment: Payment, outcome: str, start: float, exc: Exception | None = None
    ) -> None:
        seconds = time.perf_counter() - start
        self._metrics.observe(self._method.value, action, outcome, seconds)
        # A step that worked is routine (debug); a refusal is business as usual; anything else needs a look.
        level = {"ok": logging.DEBUG, "refused": logging.INFO}.get(outcome, logging.WARNING)
        if not log.isEnabledFor(level):
            return
        log.log(
            level,
            "payment %s %s %s: %s%s (%.3fs)",
            payment.order_id,
            self._method.value,
            action,
            outcome,
            f" ({exc})" if exc else "",
            seconds,
        )


def _outcome(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return "refused"
    if isinstance(exc, GatewayTimeout):
        return "timeout"
    if isinstance(exc, Unavailable):
        return "unavailable"
    return "error"


class NoMetrics:
    def observe(self, method: str, action: str, outcome: str, seconds: float) -> None:
        return None

    def reconciled(self, in_flight: InFlight, resumed: int, at: datetime) -> None:
        return None


def processors(
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    points: PointsAccount,
    card: CardGateway,
    bnpl: BnplGateway,
    metrics: PaymentMetrics,
) -> dict[Method, Processor]:
    """The processor of each method, each logged and timed."""
    plain: dict[Method, Processor] = {
        Method.COUPON: CouponProcessor(uow, clock),
        Method.POINT: PointProcessor(points),
        Method.PG: CardProcessor(card),
        Method.BNPL: BnplProcessor(bnpl),
    }
    return {method: Observed(method, processor, metrics) for method, processor in plain.items()}
