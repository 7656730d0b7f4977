"""OrderService: the order service's use cases — place and cancel orders under an Idempotency-Key, follow
the payment saga, read orders (the decisions are in `placing` and `idempotency`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from market.kernel.clock import Clock
from market.kernel.db import Alone
from market.kernel.errors import DomainError, NotFound
from market.kernel.events import Envelope, MalformedEvent
from market.kernel.plan import Leg
from market.order.domain import (
    Cancellation,
    Order,
    OrderStatus,
    Started,
    cancellation_requested,
    check_request,
    new_order_id,
    nudge,
    react,
)
from market.order.ports import Catalog, Coupons, Members, StatusWatch, UnitOfWork, UnitOfWorkFactory, Writes
from market.order.use_cases.following import Following, Settled, cancelled, clamp, in_flight, placed
from market.order.use_cases.idempotency import Finish, Idempotency, Keyed, Reply
from market.order.use_cases.placing import Placing

log = logging.getLogger("market.order")

MAX_PAGE = 100
STUCK_BATCH = 100


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
        stuck_after: timedelta = timedelta(minutes=5),
        writes: Writes | None = None,
    ) -> None:
        """`writes`: where placements and Idempotency-Key claims are written, perhaps many requests' in one
        transaction (each its own outcome); a transaction each by default."""
        self._uow = uow
        self._stuck_after = stuck_after
        self._clock = clock
        self._watch = watch
        writes = writes or Alone(uow)
        self._placing = Placing(
            uow=uow, writes=writes, clock=clock, members=members, catalog=catalog, coupons=coupons
        )
        self._keys = Idempotency(uow=uow, writes=writes, clock=clock, catalog=catalog)
        self._following = Following(uow=uow, watch=watch)

    async def place(
        self, member_id: str, key: str, items: Sequence[tuple[str, int]], legs: Sequence[Leg], wait: float = 0
    ) -> Reply:
        """Place an order once per Idempotency-Key: 201 with the PENDING order, or, waiting up to `wait`
        seconds (`Prefer: wait`), once it is PAID or FAILED. The same key and request replays the answer."""
        keyed = Keyed.of(member_id, key, "place", list(items), list(legs))
        # The member, products and coupon are read while the key is claimed, not after.
        looked_up = self._placing.look_up(member_id, items, legs)

        async def act(started: Started, finish: Finish | None) -> Order:
            return await self._placing.place_order(member_id, items, legs, started, finish, looked_up)

        try:
            settle = self._following.settle(wait, placed)
            return await self._keys.run(keyed, 201, act, new_order_id(), settle)
        finally:
            _drop(looked_up)

    async def place_order(
        self, member_id: str, items: Sequence[tuple[str, int]], payments: Sequence[Leg]
    ) -> Order:
        """Place an order without an Idempotency-Key (the demo data, tests): a fresh id each call."""
        return await self._placing.place_order(member_id, items, payments)

    async def preview(self, member_id: str, items: Sequence[tuple[str, int]], legs: Sequence[Leg]) -> Order:
        """What `place` would accept and price now, or the error it would answer; nothing reserved or
        written, no key needed (a storefront checks a payment plan with it as the member composes it)."""
        return await self._placing.preview(member_id, items, legs)

    async def cancel(
        self,
        member_id: str,
        key: str,
        order_id: str,
        is_admin: bool = False,
        wait: float = 0,
        items: Sequence[tuple[str, int]] | None = None,
        reason: str | None = None,
    ) -> Reply:
        """Cancel a PAID order (within 24 h of payment) once per Idempotency-Key: all that is open (`items`
        None), or those quantities (SPEC §10.3). 202 with the order CANCELLING (whole) or PAID with its
        cancellation pending (partial) while the legs are refunded, or, waiting up to `wait` seconds, once
        the refund went through."""
        # A bare whole cancel keeps the fingerprint it always had.
        request = [] if items is None and reason is None else [None if items is None else list(items), reason]
        keyed = Keyed.of(member_id, key, "cancel", order_id, *request)
        check_request(items)  # the request's own shape comes before the order's state

        async def act(started: Started, finish: Finish | None) -> Order:
            return await self._cancel(member_id, order_id, is_admin, finish, items, reason)

        return await self._keys.run(keyed, 202, act, settle=self._following.settle(wait, cancelled))

    async def cancel_order(
        self,
        member_id: str,
        order_id: str,
        is_admin: bool = False,
        items: Sequence[tuple[str, int]] | None = None,
    ) -> Order:
        """Ask for a PAID order (within 24 h of payment), or `items` of it, to be refunded (no key: tests)."""
        return await self._cancel(member_id, order_id, is_admin, None, items, None)

    async def preview_cancel(
        self, member_id: str, order_id: str, is_admin: bool, items: Sequence[tuple[str, int]] | None
    ) -> Cancellation:
        """What cancelling these quantities (None: everything open) would refund, split over the legs as
        the cancel itself splits it (SPEC §10.3), or the error the cancel would answer; nothing written."""
        async with self._uow() as uow:
            order = await self._visible(uow, member_id, order_id, is_admin)
        cancelling = order.request_cancellation(self._clock.now(), requested=items)
        preview = cancelling.pending_cancellation
        assert preview is not None  # a cancellation was just requested
        return preview

    async def _cancel(
        self,
        member_id: str,
        order_id: str,
        is_admin: bool,
        finish: Finish | None,
        items: Sequence[tuple[str, int]] | None,
        reason: str | None,
    ) -> Order:
        async with self._uow() as uow:
            order = await self._visible(uow, member_id, order_id, is_admin, for_update=True)
            now = self._clock.now()
            cancelling = order.request_cancellation(now, requested=items, reason=reason)
            if not await uow.orders.save(cancelling, order.status):
                raise DomainError("ORDER_NOT_CANCELLABLE", "the order changed meanwhile; read it again")
            await uow.outbox.add(cancellation_requested(cancelling, now))
            if finish is not None:
                await finish(uow, cancelling)
        return cancelling

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        """React to payment events, in one transaction; a duplicate or a stale event (the order moved on)
        changes nothing, and one that cannot be read is logged and skipped."""
        changed: list[Order] = []
        async with self._uow() as uow:
            for envelope in envelopes:
                order = await self._react(uow, envelope)
                if order is not None:
                    changed.append(order)
        for order in changed:
            self._watch.notify(order)  # after the block: the state it hands waiters is committed

    async def handle(self, envelope: Envelope) -> None:
        """React to one payment event (see `handle_batch`)."""
        await self.handle_batch([envelope])

    async def _react(self, uow: UnitOfWork, envelope: Envelope) -> Order | None:
        try:
            event = envelope.body()
        except MalformedEvent:
            log.error("order %s: %s cannot be read; skipped", envelope.order_id, envelope.type)
            return None
        if not await uow.inbox.claim(envelope):
            return None
        order = await uow.orders.get(envelope.order_id, for_update=True)
        outcome = react(order, event, self._clock.now()) if order is not None else None
        if order is None or outcome is None:
            log.info("order %s: %s changes nothing", envelope.order_id, envelope.type)
            return None
        changed, events = outcome
        if not await uow.orders.save(changed, order.status):
            raise RuntimeError(f"order {order.id} changed under a locked read")
        for e in events:
            await uow.outbox.add(e)
        return changed

    async def get_order(self, member_id: str, order_id: str, is_admin: bool = False) -> Order:
        """One order; another member's order is NOT_FOUND (unless the principal is an admin)."""
        async with self._uow() as uow:
            return await self._visible(uow, member_id, order_id, is_admin)

    async def list_orders(
        self, member_id: str, limit: int = 20, cursor: str | None = None, status: str | None = None
    ) -> list[Order]:
        """The member's orders (of `status`, if given), newest first, older than `cursor`: up to `limit` + 1
        (the extra one says that there is a next page, see `market.web.json.page`). The order service's
        own data: no lag."""
        limit = max(1, min(limit, MAX_PAGE))
        if status is not None and status not in OrderStatus.__members__:
            raise DomainError("VALIDATION_ERROR", f"status: must be one of {', '.join(OrderStatus)}")
        async with self._uow() as uow:
            return await uow.orders.newest(
                member_id, limit + 1, cursor, OrderStatus(status) if status else None
            )

    async def follow_order(
        self, member_id: str, order_id: str, is_admin: bool, wait: float
    ) -> tuple[Order, int]:
        """`get_order`; if the order is in flight (PENDING, CANCELLING, a cancellation pending), the order
        once it settles, or as it is after `wait` seconds. The seconds of wait honoured (0 if the order
        was not in flight)."""
        wait = clamp(wait)
        if wait <= 0:
            return await self.get_order(member_id, order_id, is_admin), 0
        waited = 0

        def settled_of(order: Order) -> Settled:
            nonlocal waited
            if order.member_id != member_id and not is_admin:
                raise NotFound("order")
            settled = in_flight(order)
            if settled is None:
                return lambda _: True
            waited = int(wait)
            return settled

        return await self._following.follow(order_id, wait, settled_of), waited

    async def _visible(
        self, uow: UnitOfWork, member_id: str, order_id: str, is_admin: bool, for_update: bool = False
    ) -> Order:
        order = await uow.orders.get(order_id, for_update=for_update)
        if order is None or (order.member_id != member_id and not is_admin):
            raise NotFound("order")
        return order

    async def nudge_stuck_orders(self) -> int:
        """Announce again what a saga stuck past the deadline (PENDING or CANCELLING for `stuck_after`)
        waits on: the same event, which the services that handled it skip and one that lost it (a dead
        letter, a lost record) handles now. Escalated too: logged, counted (`market_orders_stuck`), and
        on the order's timeline, so the console shows it; how many were nudged."""
        now = self._clock.now()
        async with self._uow() as uow:
            stuck = await uow.orders.stuck(now - self._stuck_after, STUCK_BATCH)
            for order in stuck:
                announcement = nudge(order)
                if announcement is None:
                    continue
                log.warning(
                    "order %s stuck %s since %s: announced again", order.id, order.status, order.updated_at
                )
                await uow.outbox.add(announcement)
                await uow.orders.save_timeline(order.nudged(now))
        return len(stuck)

    async def forget_expired_keys(self) -> int:
        """Drop stored replays older than 24 h (run it now and then); how many were dropped."""
        return await self._keys.forget_expired_keys()

    async def release_abandoned_placements(self) -> int:
        """Give back the stock of placements that crashed after reserving it but before storing their
        order, and forget their keys (run it every 30 s); how many placements' stock was given back."""
        return await self._keys.release_abandoned_placements()


def _drop(task: asyncio.Future[Any]) -> None:
    """Cancel a look-up nobody awaited (a replay, a request refused first); note a failure nobody saw."""
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()
