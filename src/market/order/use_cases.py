"""The order service's use cases: place and cancel orders, follow the payment saga, read orders,
and the Idempotency-Key contract of the REST API (Stripe's, SPEC §5).

Decisions where the SPEC is silent:
- A member that does not exist answers NOT_FOUND; an inactive one (withdrawn, suspended) FORBIDDEN: its
  token may still be valid, but it may no longer order.
- Idempotency: only a 2xx response is stored for replay. A request that fails (a broken rule, a conflict,
  an unreachable service) leaves no trace, so the client may retry with the same key — whether it fixed
  nothing (a transient failure) or the conflict cleared. An in-flight key untouched for 60 s belongs to a
  request that crashed and may be taken over. Replays are kept 24 h (`forget_expired_keys`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence

from market.kernel.clock import Clock
from market.kernel.errors import DomainError, NotFound
from market.kernel.events import Envelope
from market.kernel.ids import new_id
from market.order.domain import (
    IN_FLIGHT,
    KEY_RETENTION,
    REACTIONS,
    KeyUse,
    Order,
    PaymentLeg,
    Replay,
    Started,
    cancellation_requested,
    check_lines,
    order_created,
    price_lines,
    replay_of,
)
from market.order.ports import Catalog, Coupons, Members, StatusWatch, UnitOfWork, UnitOfWorkFactory
from market.payment.domain import rules
from market.payment.domain.coupons import IssuedCoupon
from market.payment.domain.rules import Leg, Method, PlanContext

log = logging.getLogger("market.order")

MAX_PAGE = 100

__all__ = ["OrderService", "Replay", "Started"]


class OrderService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        members: Members,
        catalog: Catalog,
        coupons: Coupons,
        watch: StatusWatch,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._members = members
        self._catalog = catalog
        self._coupons = coupons
        self._watch = watch

    async def place_order(
        self, member_id: str, items: Sequence[tuple[str, int]], payments: Sequence[Leg]
    ) -> Order:
        """Validate, reserve the stock and store a PENDING order with its OrderCreated event.

        The first broken rule answers, in SPEC §4's order; nothing is written when one breaks.
        """
        requested, legs = tuple(items), tuple(payments)
        check_lines(requested)
        rules.check(PlanContext(legs), "plan")
        member, products, coupon = await asyncio.gather(
            self._members.get_member(member_id),
            self._catalog.get_products([product_id for product_id, _ in requested]),
            self._coupon_of(legs),
        )
        if member is None:
            raise NotFound("member")
        if not member.active:
            raise DomainError("FORBIDDEN", "this account may not place orders")
        lines = price_lines(requested, {p.id: p for p in products})
        now, order_id = self._clock.now(), new_id("ord")
        total = sum(line.line_amount for line in lines)
        context = PlanContext(legs, member_id, order_id, total, coupon, member.point_balance, now)
        rules.check(context, "order")
        planned = [
            PaymentLeg.planned(leg.method.value, leg.amount, leg.payment_key, leg.coupon_id) for leg in legs
        ]
        order = Order.place(order_id, member_id, lines, planned, now)
        await self._reserve(order)
        try:
            async with self._uow() as uow:
                await uow.orders.add(order)
                await uow.outbox.add(order_created(order))
        except BaseException:
            await self._release(order.id)
            raise
        return order

    async def _coupon_of(self, legs: tuple[Leg, ...]) -> IssuedCoupon | None:
        leg = next((leg for leg in legs if leg.method == Method.COUPON), None)
        if leg is None or not leg.coupon_id:
            return None
        return await self._coupons.get_issued_coupon(leg.coupon_id)

    async def _reserve(self, order: Order) -> None:
        try:
            await self._catalog.reserve_stock(
                order.id, [(line.product_id, line.quantity) for line in order.items]
            )
        except DomainError:
            raise  # OUT_OF_STOCK: nothing was taken
        except BaseException:
            # Unanswered: the stock may have been taken for an order that will never exist.
            await self._release(order.id)
            raise

    async def _release(self, order_id: str) -> None:
        try:
            await self._catalog.release_stock(order_id)
        except Exception:
            log.exception("could not give back the stock of abandoned order %s", order_id)

    async def cancel_order(self, member_id: str, order_id: str, is_admin: bool = False) -> Order:
        """Ask for a PAID order (within 24 h of payment) to be refunded: CANCELLING."""
        async with self._uow() as uow:
            order = await self._visible(uow, member_id, order_id, is_admin, for_update=True)
            now = self._clock.now()
            cancelling = order.request_cancellation(now)
            if not await uow.orders.save(cancelling, order.status):
                raise DomainError("ORDER_NOT_CANCELLABLE", "the order changed meanwhile; read it again")
            await uow.outbox.add(cancellation_requested(cancelling, now))
        return cancelling

    async def handle(self, envelope: Envelope) -> None:
        """React to a payment event once; a duplicate or a stale event (the order moved on) changes nothing."""
        react = REACTIONS.get(envelope.type)
        if react is None:
            return
        async with self._uow() as uow:
            if not await uow.inbox.claim(envelope):
                return
            order = await uow.orders.get(envelope.order_id, for_update=True)
            outcome = react(order, envelope.payload, self._clock.now()) if order is not None else None
            if order is None or outcome is None:
                log.info("order %s: %s changes nothing", envelope.order_id, envelope.type)
                return
            changed, events = outcome
            if not await uow.orders.save(changed, order.status):
                raise RuntimeError(f"order {order.id} changed under a locked read")
            for e in events:
                await uow.outbox.add(e)
        self._watch.notify(envelope.order_id)

    async def get_order(self, member_id: str, order_id: str, is_admin: bool = False) -> Order:
        """One order; another member's order is NOT_FOUND (unless the principal is an admin)."""
        async with self._uow() as uow:
            return await self._visible(uow, member_id, order_id, is_admin)

    async def list_orders(self, member_id: str, limit: int = 20, cursor: str | None = None) -> list[Order]:
        """The member's orders, newest first, older than `cursor`: up to `limit` + 1 (the extra one says
        that there is a next page, see `market.web.json.page`)."""
        limit = max(1, min(limit, MAX_PAGE))
        async with self._uow() as uow:
            return await uow.orders.newest(member_id, limit + 1, cursor)

    async def wait_for_outcome(
        self, order_id: str, seconds: float, settled_statuses: Collection[str]
    ) -> Order:
        """The order once its status is in `settled_statuses`, or as it is after `seconds`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            remaining = deadline - loop.time()
            # Listening before reading: a change committed during the read still wakes us.
            waiter = asyncio.ensure_future(self._watch.wait(order_id, max(remaining, 0.0)))
            try:
                async with self._uow() as uow:
                    order = await uow.orders.get(order_id)
                if order is None:
                    raise NotFound("order")
                if order.status in settled_statuses or remaining <= 0:
                    return order
                await waiter
            finally:
                waiter.cancel()

    async def _visible(
        self, uow: UnitOfWork, member_id: str, order_id: str, is_admin: bool, for_update: bool = False
    ) -> Order:
        order = await uow.orders.get(order_id, for_update=for_update)
        if order is None or (order.member_id != member_id and not is_admin):
            raise NotFound("order")
        return order

    async def begin(self, member_id: str, key: str, fingerprint: str) -> Started | Replay:
        """Claim an Idempotency-Key for a request: run it (Started), or replay the stored response.

        IDEMPOTENCY_KEY_REUSED: the key answered another request; IDEMPOTENCY_KEY_IN_USE: the first
        request with this key is still running.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            keys = uow.idempotency_keys
            if await keys.start(KeyUse(member_id, key, fingerprint, IN_FLIGHT, now, now)):
                return Started()
            seen = await keys.get(member_id, key)
            if seen is not None and seen.abandoned(now):
                if await keys.take_over(seen, fingerprint, now):
                    return Started()
                seen = None  # another request took it over first
            return replay_of(seen, fingerprint)

    async def complete(self, member_id: str, key: str, status: int, body: str) -> None:
        """Store the response to a Started request for replays; only a 2xx is kept (else `abandon`)."""
        if not 200 <= status < 300:
            await self.abandon(member_id, key)
            return
        async with self._uow() as uow:
            await uow.idempotency_keys.finish(member_id, key, status, body, self._clock.now())

    async def abandon(self, member_id: str, key: str) -> None:
        """Forget the key of a Started request that failed: it leaves no trace, the key may be used again."""
        async with self._uow() as uow:
            await uow.idempotency_keys.forget(member_id, key)

    async def forget_expired_keys(self) -> int:
        """Drop stored replays older than 24 h (run it now and then); how many were dropped."""
        async with self._uow() as uow:
            return await uow.idempotency_keys.forget_done_before(self._clock.now() - KEY_RETENTION)
