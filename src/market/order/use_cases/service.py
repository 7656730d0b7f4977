"""OrderService: the order service's use cases — place and cancel orders, follow the payment saga, read
orders, and the Idempotency-Key contract of the REST API (the decisions are in `placing` and `keys`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence

from market.kernel.clock import Clock
from market.kernel.errors import DomainError, NotFound
from market.kernel.events import Envelope
from market.order.domain import REACTIONS, Order, OrderStatus, Replay, Started, cancellation_requested
from market.order.ports import Catalog, Coupons, Members, StatusWatch, UnitOfWork, UnitOfWorkFactory
from market.order.use_cases.keys import IdempotencyKeys, ReplayToStore
from market.order.use_cases.placing import Facts, Placing
from market.payment.domain.rules import Leg

log = logging.getLogger("market.order")

MAX_PAGE = 100


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
        self._watch = watch
        self._placing = Placing(uow=uow, clock=clock, members=members, catalog=catalog, coupons=coupons)
        self._keys = IdempotencyKeys(uow=uow, clock=clock, catalog=catalog)

    async def place_order(
        self,
        member_id: str,
        items: Sequence[tuple[str, int]],
        payments: Sequence[Leg],
        order_id: str | None = None,
        may_exist: bool = True,
        replay: ReplayToStore | None = None,
        looked_up: Awaitable[Facts] | None = None,
    ) -> Order:
        """Validate, reserve the stock and store a PENDING order with its OrderCreated event.

        The first broken rule answers, in SPEC §4's order; nothing is written when one breaks. `order_id`
        (its Idempotency-Key's, see `begin`) is the order's id, a fresh one if None; when an earlier attempt
        already stored that order, it is returned as it is now and nothing is reserved or written.
        `may_exist=False` skips that look-up, for an id no attempt can have used (`Started.resumed` False).
        `replay`: the Started key's response to the order as placed, stored with it in one transaction
        (then the key needs no `complete`); not stored when an earlier attempt's order is returned.
        `looked_up`: what `look_up` started reading for these lines, if it was called.
        """
        return await self._placing.place_order(
            member_id, items, payments, order_id, may_exist, replay, looked_up
        )

    def look_up(
        self, member_id: str, items: Sequence[tuple[str, int]], payments: Sequence[Leg]
    ) -> asyncio.Future[Facts]:
        """Start reading what placing these lines needs, to pass to `place_order` (e.g. while a key is
        claimed); the caller cancels it if it ends up not placing."""
        return self._placing.look_up(member_id, items, payments)

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
        self._watch.notify(changed)  # after the block: the state it hands waiters is committed

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
        return await self._follow(order_id, seconds, lambda _: settled_statuses)

    async def follow_order(
        self,
        member_id: str,
        order_id: str,
        is_admin: bool,
        seconds: float,
        settled_after: Mapping[OrderStatus, Collection[str]],
    ) -> tuple[Order, bool]:
        """`get_order`, and if the order's status is in flight (a key of `settled_after`), the order once
        its status is in `settled_after[status]`, or as it is after `seconds`. True if it was waited for."""
        if seconds <= 0:
            return await self.get_order(member_id, order_id, is_admin), False
        waited = False

        def settled_of(order: Order) -> Collection[str]:
            nonlocal waited
            if order.member_id != member_id and not is_admin:
                raise NotFound("order")
            waited = order.status in settled_after
            return settled_after[order.status] if waited else (order.status,)

        return await self._follow(order_id, seconds, settled_of), waited

    async def _follow(
        self, order_id: str, seconds: float, settled_of: Callable[[Order], Collection[str]]
    ) -> Order:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        settled: Collection[str] | None = None
        while True:
            remaining = deadline - loop.time()
            # Listening before reading: a change committed during the read still wakes us.
            waiter = asyncio.ensure_future(self._watch.wait(order_id, max(remaining, 0.0)))
            try:
                async with self._uow() as uow:
                    order = await uow.orders.get(order_id)
                if order is None:
                    raise NotFound("order")
                if settled is None:
                    settled = settled_of(order)  # the first read decides what "settled" means
                if order.status in settled or remaining <= 0:
                    return order
                notified = await waiter
            finally:
                waiter.cancel()
            # The state the consumer committed, no need to read it again; one still in flight is read
            # again under a new waiter, lest a change committed before that waiter listens be missed.
            if notified is not None and notified.status in settled:
                return notified

    async def _visible(
        self, uow: UnitOfWork, member_id: str, order_id: str, is_admin: bool, for_update: bool = False
    ) -> Order:
        order = await uow.orders.get(order_id, for_update=for_update)
        if order is None or (order.member_id != member_id and not is_admin):
            raise NotFound("order")
        return order

    async def begin(
        self, member_id: str, key: str, fingerprint: str, resource_id: str | None = None
    ) -> Started | Replay:
        """Claim an Idempotency-Key for a request: run it (Started), or replay the stored response.

        A placement passes a fresh order id as `resource_id`; the key keeps the first one it was claimed
        with, and `Started.resource_id` is the id to place the order under. IDEMPOTENCY_KEY_REUSED: the key
        answered another request; IDEMPOTENCY_KEY_IN_USE: the first request with this key is still running.
        """
        return await self._keys.begin(member_id, key, fingerprint, resource_id)

    async def complete(self, member_id: str, key: str, status: int, body: str) -> None:
        """Store the response to a Started request for replays; only a 2xx is kept (else `abandon`)."""
        await self._keys.complete(member_id, key, status, body)

    async def abandon(self, member_id: str, key: str) -> None:
        """Forget the key of a Started request that failed: it leaves no trace, the key may be used again."""
        await self._keys.abandon(member_id, key)

    async def forget_expired_keys(self) -> int:
        """Drop stored replays older than 24 h (run it now and then); how many were dropped."""
        return await self._keys.forget_expired_keys()

    async def release_abandoned_placements(self) -> int:
        """Give back the stock of placements that crashed after reserving it but before storing their
        order, and forget their keys (run it every 30 s); how many placements' stock was given back."""
        return await self._keys.release_abandoned_placements()
