"""The product service's use cases: the catalog, and the stock each order takes and gives back."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from market.kernel.clock import Clock
from market.kernel.db import Alone
from market.kernel.errors import DomainError, NotFound
from market.kernel.events import Envelope, MalformedEvent, OrderPartiallyCancelled, ProductChanged, envelope
from market.kernel.ids import new_id
from market.product.domain import (
    ON_SALE,
    RELEASED,
    RESERVED,
    Product,
    Reservation,
    Seller,
    check_lines,
    check_name,
    check_price,
    check_stock,
)
from market.product.ports import UnitOfWork, UnitOfWorkFactory, Writes

log = logging.getLogger("market.product")

# The order events after which an order holds no stock any more.
RELEASING_EVENTS = frozenset({"OrderFailed", "OrderCancelled"})
# The order event after which an order holds less stock (SPEC §10.3).
PART_RELEASING = "OrderPartiallyCancelled"
# The reservation row that marks "released before anything was reserved" (see release_stock).
NOTHING_RESERVED = ""


class ProductService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, writes: Writes | None = None) -> None:
        """`writes`: where reservations are written, perhaps many orders' in one transaction (each its own
        outcome); a transaction each by default."""
        self._uow = uow
        self._clock = clock
        self._writes: Writes = writes or Alone(uow)

    async def create_seller(self, name: str) -> Seller:
        """Register a seller."""
        seller = Seller(new_id("sel"), check_name(name), self._clock.now())
        async with self._uow() as uow:
            await uow.sellers.add(seller)
        return seller

    async def create_product(self, seller_id: str, name: str, price: int, stock: int) -> Product:
        """Put a seller's product on sale with its initial stock; SELLER_NOT_FOUND if there is no such seller."""
        now = self._clock.now()
        product = Product(
            new_id("prd"),
            seller_id,
            check_name(name),
            check_price(price),
            check_stock(stock),
            stock,
            ON_SALE,
            now,
            now,
        )
        async with self._uow() as uow:
            if await uow.sellers.get(seller_id) is None:
                raise DomainError("SELLER_NOT_FOUND", f"there is no seller {seller_id}", seller_id=seller_id)
            await uow.products.add(product)
        return product

    async def update_product(
        self, product_id: str, price: int | None = None, stock: int | None = None, status: str | None = None
    ) -> Product:
        """Change the price, the stock on hand (the received total moves by as much) or the sale status."""
        async with self._uow() as uow:
            product = await uow.products.get(product_id, for_update=True)
            if product is None:
                raise NotFound("product")
            changed = product.changed(self._clock.now(), price, stock, status)
            await uow.products.save(changed)
            # Other services' caches of the catalog forget the product at once (SPEC §10.2).
            news = ProductChanged(changed.id, changed.seller_id, changed.price, changed.stock, changed.status)
            await uow.outbox.add(envelope(news, changed.id, changed.updated_at))
        return changed

    async def get_product(self, product_id: str) -> Product | None:
        """The product, or None."""
        async with self._uow() as uow:
            return await uow.products.get(product_id)

    async def list_products(self, limit: int = 20, cursor: str | None = None) -> list[Product]:
        """Up to `limit` products, newest first, older than `cursor`."""
        async with self._uow() as uow:
            return await uow.products.newest(max(1, min(limit, 1000)), cursor)

    async def get_products(self, ids: Sequence[str]) -> list[Product]:
        """The products that exist among `ids`, in the order asked (each once); missing ones are left out."""
        wanted = list(dict.fromkeys(ids))
        async with self._uow() as uow:
            found = {p.id: p for p in await uow.products.get_many(wanted)}
        return [found[i] for i in wanted if i in found]

    async def reserve_stock(
        self, order_id: str, lines: Sequence[tuple[str, int]], prices: Mapping[str, int] | None = None
    ) -> None:
        """Take the stock of every line for an order, or none of it (OUT_OF_STOCK names the product).

        `prices` are the unit prices the order was priced at: when one is not the product's price now,
        nothing is taken (PRICE_CHANGED names the product), so an order priced from a cached catalog is
        never placed at a stale price. Once per order id: a retry while the stock is held changes nothing
        and succeeds; after the order's stock was released it is refused (STOCK_RELEASED) instead of
        being taken again.
        """
        wanted = check_lines(list(lines))
        now = self._clock.now()

        async def reserve(uow: UnitOfWork) -> None:
            # No lock on this read: on MariaDB its gap lock would deadlock orders racing for one product.
            # A concurrent duplicate of this call then fails on the primary key, and its retry succeeds.
            earlier = await uow.reservations.of_order(order_id)
            if any(r.held for r in earlier):
                return
            if earlier:
                raise DomainError("STOCK_RELEASED", f"the stock of order {order_id} was already released")
            await self._check_on_sale(uow, [product_id for product_id, _ in wanted], prices or {})
            for product_id, quantity in wanted:
                if not await uow.products.take_stock(product_id, quantity, now):
                    # Raising rolls back the lines already taken: all or none.
                    raise DomainError(
                        "OUT_OF_STOCK", f"not enough stock of {product_id}", product_id=product_id
                    )
            await uow.reservations.add([Reservation(order_id, p, q, RESERVED, now) for p, q in wanted])

        await self._writes(reserve)

    async def release_stock(self, order_id: str) -> bool:
        """Give an order's stock back, once: True if this call gave something back.

        Releasing an order that holds nothing records that, so a reservation arriving late for it
        (a retried or delayed call) is refused rather than left holding stock forever.
        """
        async with self._uow() as uow:
            return await self._release(uow, order_id, self._clock.now())

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        """Consume order events: a failed or cancelled order gives its stock back, a partly cancelled one
        the quantities cancelled, once per event; one transaction for the batch."""
        releasing = [e for e in envelopes if e.type in RELEASING_EVENTS or e.type == PART_RELEASING]
        if not releasing:
            return
        async with self._uow() as uow:
            for envelope in releasing:
                if not await uow.inbox.claim(envelope):
                    continue
                if envelope.type == PART_RELEASING:
                    await self._release_part(uow, envelope)
                else:
                    await self._release(uow, envelope.order_id, self._clock.now())

    async def handle(self, envelope: Envelope) -> None:
        """Consume one order event (see `handle_batch`)."""
        await self.handle_batch([envelope])

    async def _check_on_sale(
        self, uow: UnitOfWork, product_ids: list[str], prices: Mapping[str, int]
    ) -> None:
        products = {p.id: p for p in await uow.products.get_many(product_ids)}
        for product_id in product_ids:
            product = products.get(product_id)
            if product is None:
                raise DomainError(
                    "PRODUCT_NOT_FOUND", f"there is no product {product_id}", product_id=product_id
                )
            if not product.on_sale:
                raise DomainError(
                    "PRODUCT_NOT_ON_SALE", f"{product.name} is not on sale", product_id=product_id
                )
            if prices.get(product_id, product.price) != product.price:
                raise DomainError(
                    "PRICE_CHANGED",
                    f"the price of {product.name} is now {product.price}",
                    product_id=product_id,
                    price=product.price,
                )

    async def _release_part(self, uow: UnitOfWork, envelope: Envelope) -> None:
        """Give back the quantities a partial cancellation cancelled; the rest stays held (sold)."""
        try:
            event = envelope.body()
        except MalformedEvent as exc:
            log.error("%s of %s cannot be read (%s); skipped", envelope.type, envelope.order_id, exc)
            return
        assert isinstance(event, OrderPartiallyCancelled)
        now = self._clock.now()
        for item in event.items:
            if await uow.reservations.release_part(envelope.order_id, item.product_id, item.quantity):
                await uow.products.put_back(item.product_id, item.quantity, now)
            else:
                log.warning(
                    "order %s holds less than %d of %s", envelope.order_id, item.quantity, item.product_id
                )

    async def _release(self, uow: UnitOfWork, order_id: str, now: datetime) -> bool:
        held = await uow.reservations.of_order(order_id, for_update=True)
        if not held:
            await uow.reservations.add([Reservation(order_id, NOTHING_RESERVED, 0, RELEASED, now, now)])
            return False
        released = False
        for reservation in held:
            if reservation.held and await uow.reservations.release(order_id, reservation.product_id, now):
                await uow.products.put_back(reservation.product_id, reservation.quantity, now)
                released = True
        return released
