"""Placing an order (SPEC §3 steps 2–6): validate, reserve the stock, store it PENDING with OrderCreated.

Decisions where the SPEC is silent:
- A member that does not exist answers NOT_FOUND; an inactive one (withdrawn, suspended) FORBIDDEN: its
  token may still be valid, but it may no longer order.
- A placement under an Idempotency-Key gets its order id from the key (`Started.resource_id`), so a retry
  after a crash places that same order: if the crashed attempt stored it, the retry returns it as it is now
  and reserves or writes nothing (checking the rules again could refuse it: its coupon is used, its points
  spent). If the crashed attempt only reserved, the retry's reservation under the same id finds the stock
  held and succeeds. If the stock was released meanwhile (the sweep of abandoned placements got there
  first), the product service refuses it (STOCK_RELEASED, 409) rather than take it again, and that error
  answers: nothing is held, the key is forgotten, and the client's next retry starts afresh.
- The key's answer is stored in the transaction that stores the order (`finish`): a crash leaves both or
  neither.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from market.kernel import plan
from market.kernel.clock import Clock
from market.kernel.coupons import IssuedCoupon
from market.kernel.errors import DomainError, NotFound
from market.kernel.plan import Leg, Method, PlanContext
from market.order.domain import Order, Started, check_lines, new_order_id, order_created, price_lines
from market.order.ports import (
    Catalog,
    Coupons,
    Members,
    MemberSnapshot,
    ProductSnapshot,
    UnitOfWork,
    UnitOfWorkFactory,
    Writes,
)
from market.order.use_cases.idempotency import Finish, StockMayBeHeld

log = logging.getLogger("market.order")

# What placing reads from the other services: the member, the products that exist, the COUPON leg's coupon.
Facts = tuple[MemberSnapshot | None, list[ProductSnapshot], IssuedCoupon | None]
# The order at given products' prices, once the rules that need them pass (else their error).
Pricing = Callable[[Sequence[ProductSnapshot]], Order]
PREVIEW = ""  # the id of an order that is only previewed


class Placing:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        writes: Writes,
        clock: Clock,
        members: Members,
        catalog: Catalog,
        coupons: Coupons,
    ) -> None:
        self._uow = uow
        self._writes = writes
        self._clock = clock
        self._members = members
        self._catalog = catalog
        self._coupons = coupons

    async def place_order(
        self,
        member_id: str,
        items: Sequence[tuple[str, int]],
        payments: Sequence[Leg],
        started: Started | None = None,
        finish: Finish | None = None,
        looked_up: Awaitable[Facts] | None = None,
    ) -> Order:
        """Validate, reserve the stock and store a PENDING order with its OrderCreated event.

        The first broken rule answers, in SPEC §4's order; nothing is written when one breaks. `started`:
        the Idempotency-Key's claim, whose `resource_id` is the order's id (a fresh one without a key);
        when an earlier attempt already stored that order (`resumed`), it is returned as it is now and
        nothing is reserved or written. `finish` stores the key's answer with the order. `looked_up`:
        what `look_up` started reading for these lines, if it was called.
        """
        order_id = started.resource_id if started is not None else None
        if order_id is not None and started is not None and started.resumed:
            placed = await self._stored(member_id, order_id)
            if placed is not None:
                return placed
        requested, legs = tuple(items), tuple(payments)
        order_id = order_id or new_order_id()
        priced, products = await self._pricing(member_id, order_id, requested, legs, looked_up)
        order = await self._reserved([product_id for product_id, _ in requested], products, priced)
        try:
            await self._store(order, finish)
        except BaseException as exc:
            await self._release(order.id, exc)
            raise
        return order

    async def preview(
        self, member_id: str, items: Sequence[tuple[str, int]], payments: Sequence[Leg]
    ) -> Order:
        """The order `place_order` would place now (priced, every rule of SPEC §4 passed), or the error of
        the first broken rule, the very one `place_order` answers; nothing is reserved or written. The one
        rule left out is the stock, which only a reservation decides. The order returned has no id."""
        requested, legs = tuple(items), tuple(payments)
        priced, products = await self._pricing(member_id, PREVIEW, requested, legs, None)
        try:
            return priced(products)
        except DomainError:
            if not any(p.cached for p in products):
                raise
        return priced(
            await self._catalog.get_products([product_id for product_id, _ in requested], fresh=True)
        )

    async def _pricing(
        self,
        member_id: str,
        order_id: str,
        requested: tuple[tuple[str, int], ...],
        legs: tuple[Leg, ...],
        looked_up: Awaitable[Facts] | None,
    ) -> tuple[Pricing, list[ProductSnapshot]]:
        """Check the rules that need nothing read (the lines, the plan's shape), read the facts (the member
        must be active), and return how to price the order at some products' prices under the remaining
        rules (products, legs against the total, coupon, points), with the products read."""
        check_lines(requested)
        plan.check(PlanContext(legs), "plan")
        member, products, coupon = await (looked_up or self.look_up(member_id, requested, legs))
        if member is None:
            raise NotFound("member")
        if not member.active:
            raise DomainError("FORBIDDEN", "this account may not place orders")
        now, balance = self._clock.now(), member.point_balance
        # A preview's order does not exist: its coupon must be unused (no order of its own may hold it).
        planned_id = None if order_id == PREVIEW else order_id

        def priced(products: Sequence[ProductSnapshot]) -> Order:
            """The order at these products' prices, once the payment rules accept it."""
            lines = price_lines(requested, {p.id: p for p in products})
            total = sum(line.line_amount for line in lines)
            plan.check(PlanContext(legs, member_id, planned_id, total, coupon, balance, now), "order")
            return Order.place(order_id, member_id, lines, legs, now)

        return priced, products

    def look_up(
        self, member_id: str, items: Sequence[tuple[str, int]], payments: Sequence[Leg]
    ) -> asyncio.Future[Facts]:
        """Start reading what placing these lines needs (the member, the products, the coupon), so the
        reads run while something else does, e.g. while the request's Idempotency-Key is claimed.

        The gathering future itself, not a task awaiting it: each hop between futures costs the caller a
        turn of the event loop, and under load a turn is a few milliseconds (docs/performance.md)."""
        return asyncio.gather(
            self._members.get_member(member_id),
            self._catalog.get_products([product_id for product_id, _ in items]),
            self._coupon_of(tuple(payments)),
        )

    async def _store(self, order: Order, finish: Finish | None) -> None:
        """The order, its OrderCreated and, if given, its key's answer for replays: one transaction."""

        async def store(uow: UnitOfWork) -> None:
            await uow.orders.add(order)
            await uow.outbox.add(order_created(order))
            if finish is not None:
                await finish(uow, order)

        await self._writes(store)

    async def _stored(self, member_id: str, order_id: str) -> Order | None:
        async with self._uow() as uow:
            placed = await uow.orders.get(order_id)
        if placed is not None and placed.member_id != member_id:
            raise NotFound("order")  # an id from another member's key: never theirs to see
        return placed

    async def _coupon_of(self, legs: tuple[Leg, ...]) -> IssuedCoupon | None:
        leg = next((leg for leg in legs if leg.method == Method.COUPON), None)
        if leg is None or not leg.coupon_id:
            return None
        return await self._coupons.get_issued_coupon(leg.coupon_id)

    async def _reserved(
        self,
        ids: list[str],
        products: Sequence[ProductSnapshot],
        priced: Pricing,
    ) -> Order:
        """The order priced from `products`, its stock reserved at those prices.

        The catalog may answer from a cache. A refusal decided on cached products (a total that no longer
        matches the payments, a product back on sale) is decided again on fresh ones; so is the product
        service's PRICE_CHANGED (nothing was taken). A second refusal answers the client.
        """
        try:
            order = priced(products)
        except DomainError:
            if not any(p.cached for p in products):
                raise
        else:
            try:
                await self._reserve(order)
                return order
            except DomainError as exc:
                if exc.code != "PRICE_CHANGED":
                    raise
        order = priced(await self._catalog.get_products(ids, fresh=True))
        await self._reserve(order)
        return order

    async def _reserve(self, order: Order) -> None:
        try:
            await self._catalog.reserve_stock(
                order.id,
                [(line.product_id, line.quantity) for line in order.items],
                {line.product_id: line.unit_price for line in order.items},
            )
        except DomainError:
            raise  # OUT_OF_STOCK, STOCK_RELEASED, PRICE_CHANGED: nothing was taken
        except BaseException as exc:
            # Unanswered: the stock may have been taken for an order that will never exist.
            await self._release(order.id, exc)
            raise

    async def _release(self, order_id: str, cause: BaseException) -> None:
        """Give back what the order may hold; if that fails too, say so (StockMayBeHeld): its key must stay
        for the sweep of abandoned placements, the one left that knows the stock is held."""
        try:
            await self._catalog.release_stock(order_id)
        except Exception as exc:
            log.exception("could not give back the stock of abandoned order %s", order_id)
            raise StockMayBeHeld(order_id) from cause if cause is not None else exc
