"""PaymentService: the payment service's use cases (the event consumer, the reconciler, coupons, history)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from market.kernel.clock import Clock
from market.kernel.coupons import AVAILABLE, CouponDefinition, IssuedCoupon
from market.kernel.errors import DomainError, NotFound, Unavailable
from market.kernel.events import Envelope, MalformedEvent, OrderPartialCancellationRequested
from market.kernel.ids import new_id
from market.kernel.messaging import EventContext, current_context
from market.payment.domain.coupons import definition_problem
from market.payment.domain.payment import IN_FLIGHT, Payment, PaymentLeg, PaymentStatus
from market.payment.ports import (
    BnplGateway,
    CardGateway,
    PaymentMetrics,
    PointsAccount,
    UnitOfWork,
    UnitOfWorkFactory,
)
from market.payment.use_cases.drives import Drives
from market.payment.use_cases.observed import NoMetrics, processors
from market.payment.use_cases.order_events import payment_of
from market.payment.use_cases.reconciler import Reconciler
from market.payment.use_cases.saga import PaymentSaga

log = logging.getLogger("market.payment")

CONSUMED = ("OrderCreated", "OrderCancellationRequested", "OrderPartialCancellationRequested")


@dataclass(frozen=True)
class HeldCoupon:
    """An issued coupon as its member sees it now: AVAILABLE, USED or EXPIRED."""

    coupon: IssuedCoupon
    status: str


class PaymentService:
    """Pays orders (consuming order events), refunds cancelled ones, reconciles what was interrupted,
    and keeps the coupons. `lease_seconds`: how long a runner holds a payment before the reconciler may
    resume it; `orphan_window` / `orphan_check_every`: how long and how often a failed payment's order is
    looked up at the PG for a charge that must be cancelled; `event_context`: the context a payment an
    event asked for is driven in (its trace and order id)."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        points: PointsAccount,
        cards: CardGateway,
        bnpl: BnplGateway,
        metrics: PaymentMetrics | None = None,
        lease_seconds: float = 15.0,
        orphan_window: timedelta = timedelta(hours=1),
        orphan_check_every: timedelta = timedelta(seconds=30),
        event_context: EventContext = current_context,
    ) -> None:
        self._uow = uow
        self._event_context = event_context
        self._clock = clock
        self._points = points
        self._lease = timedelta(seconds=lease_seconds)
        metrics = metrics or NoMetrics()
        by_method = processors(uow=uow, clock=clock, points=points, card=cards, bnpl=bnpl, metrics=metrics)
        self._saga = PaymentSaga(uow=uow, clock=clock, points=points, processors=by_method, lease=self._lease)
        self._drives = Drives(self._saga.drive)
        self._reconciler = Reconciler(
            uow=uow,
            clock=clock,
            saga=self._saga,
            card=cards,
            lease=self._lease,
            orphan_window=orphan_window,
            orphan_check_every=orphan_check_every,
            metrics=metrics,
        )

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        """Consume order events: OrderCreated opens the order's payment (validated first), and
        OrderCancellationRequested (the whole order) or OrderPartialCancellationRequested (part of it)
        starts a refund; one transaction for them all, with their inbox rows.
        The payments are then driven in the background (`drives`). A duplicate delivery changes nothing;
        other event types are ignored."""
        now = self._clock.now()
        opened = {
            e.event_id: payment_of(e, now, now + self._lease) for e in envelopes if e.type == "OrderCreated"
        }
        await asyncio.gather(*(self._open(p) for p in opened.values()))
        driven: list[tuple[Payment, Envelope]] = []
        async with self._uow() as uow:
            for envelope in envelopes:
                if envelope.type not in CONSUMED:
                    continue
                if not await uow.inbox.claim(envelope):
                    continue
                if envelope.type == "OrderCreated":
                    payment = opened[envelope.event_id]
                    if await uow.payments.add(payment):
                        for raised in payment.events:
                            await uow.outbox.add(raised)
                        driven.append((payment, envelope))
                elif (refunding := await self._begin_refund(uow, envelope, now)) is not None:
                    driven.append((refunding, envelope))
        for payment, asked_by in driven:
            payment.events.clear()
            if payment.status in IN_FLIGHT:
                self._drives.start(payment, self._event_context(asked_by))

    async def handle(self, envelope: Envelope) -> None:
        """One order event (see `handle_batch`)."""
        await self.handle_batch([envelope])

    async def _open(self, payment: Payment) -> None:
        try:
            await self._saga.open(payment)
        except Unavailable as exc:
            # Stored unvalidated (and leased): the reconciler validates it once the lease ends.
            log.warning("payment %s stays unvalidated for the reconciler: %s", payment.order_id, exc)

    async def _begin_refund(self, uow: UnitOfWork, envelope: Envelope, now: datetime) -> Payment | None:
        """Start the refund an event asks for, unless the payment is not COMPLETED (failed, or already
        refunding: the order asks for one refund at a time) or this refund was already asked for."""
        order_id = envelope.order_id
        payment = await uow.payments.get(order_id)
        if payment is None or payment.status != PaymentStatus.COMPLETED:
            log.warning(
                "%s of %s ignored: its payment is %s",
                envelope.type,
                order_id,
                payment.status if payment else "missing",
            )
            return None
        try:
            asked = envelope.body()
            if isinstance(asked, OrderPartialCancellationRequested):
                if not payment.begin_partial_refund(asked.cancellation_id, asked.refund_amount, now):
                    return None
            else:
                payment.begin_refund(now)
        except (MalformedEvent, ValueError) as exc:
            log.error("%s of %s cannot be refunded: %s", envelope.type, order_id, exc)
            return None
        lease = now + self._lease
        if not await uow.payments.claim(order_id, payment.attempts, PaymentStatus.COMPLETED, now, lease):
            return None
        payment.claim(lease)
        payment.updated_at = now
        await uow.payments.save(payment)
        return payment

    async def idle(self) -> None:
        """Until every payment started by the events handled so far has gone as far as it goes now."""
        await self._drives.idle()

    async def stop(self) -> None:
        """Stop driving payments (their leases hand them to the reconciler of this or another replica)."""
        await self._drives.stop()

    async def reconcile_once(self) -> int:
        """Resume every payment whose runner's lease expired, and cancel card charges of failed payments;
        how many payments were resumed plus how many orphan charges were cancelled."""
        return await self._reconciler.run_once()

    async def get_issued_coupon(self, coupon_id: str) -> IssuedCoupon | None:
        """An issued coupon by its id (what the order service checks a COUPON leg against)."""
        async with self._uow() as uow:
            return await uow.coupons.get_issued(coupon_id)

    async def define_coupon(
        self,
        *,
        name: str,
        discount_type: str,
        discount_value: int,
        max_discount: int | None,
        min_order_amount: int,
        valid_from: datetime,
        valid_until: datetime,
    ) -> CouponDefinition:
        """Define a coupon (admin). Raises VALIDATION_ERROR when the definition makes no sense."""
        definition = CouponDefinition(
            new_id("cpn"),
            name,
            discount_type,
            discount_value,
            max_discount,
            min_order_amount,
            valid_from,
            valid_until,
        )
        problem = definition_problem(definition)
        if problem is not None:
            raise DomainError("VALIDATION_ERROR", problem)
        async with self._uow() as uow:
            await uow.coupons.add_definition(definition, self._clock.now())
        return definition

    async def issue_coupon(self, coupon_id: str, member_id: str) -> IssuedCoupon:
        """Hand a defined coupon to a member (admin). NotFound for an unknown coupon or member."""
        async with self._uow() as uow:
            definition = await uow.coupons.get_definition(coupon_id)
        if definition is None:
            raise NotFound("coupon")
        await self._points.balance(member_id)  # raises NotFound for an unknown member
        issued = IssuedCoupon(new_id("icp"), definition, member_id, AVAILABLE)
        async with self._uow() as uow:
            await uow.coupons.issue(issued, self._clock.now())
        return issued

    async def member_coupons(
        self, member_id: str, limit: int = 20, before: str | None = None
    ) -> list[HeldCoupon]:
        """The member's coupons, newest first (up to `limit`, ids below `before`), with their status now."""
        async with self._uow() as uow:
            coupons = await uow.coupons.issued_to(member_id, limit, before)
        now = self._clock.now()
        return [HeldCoupon(c, c.status_at(now)) for c in coupons]

    def status_now(self, coupon: IssuedCoupon) -> str:
        """AVAILABLE, USED or EXPIRED (an unused coupon past its validity), as of now."""
        return coupon.status_at(self._clock.now())

    async def history(self, member_id: str, order_id: str, is_admin: bool = False) -> list[PaymentLeg]:
        """The legs of an order's payment. Another member's payment is NotFound, unless asked by an admin."""
        async with self._uow() as uow:
            payment = await uow.payments.get(order_id)
        if payment is None or (payment.member_id != member_id and not is_admin):
            raise NotFound("payment")
        return payment.legs
