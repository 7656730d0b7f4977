"""The product repositories over SQL (SQLite embedded, MariaDB distributed)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from market.infra.batching import BatchWriter
from market.infra.outbox import SqlInbox, SqlOutbox
from market.kernel.clock import Clock, iso, parse_iso, parse_iso_required
from market.kernel.db import Database, Row, Tx, transaction_uow
from market.kernel.db import for_update as lock_clause
from market.product.domain import Product, Reservation, Seller

_PRODUCT_COLUMNS = "id, seller_id, name, price, stock, stock_received, status, created_at, updated_at"
_RESERVATION_COLUMNS = "order_id, product_id, quantity, status, created_at, released_at"


def _product(row: Row) -> Product:
    return Product(
        id=row["id"],
        seller_id=row["seller_id"],
        name=row["name"],
        price=int(row["price"]),
        stock=int(row["stock"]),
        stock_received=int(row["stock_received"]),
        status=row["status"],
        created_at=parse_iso_required(row["created_at"]),
        updated_at=parse_iso_required(row["updated_at"]),
    )


def _reservation(row: Row) -> Reservation:
    return Reservation(
        order_id=row["order_id"],
        product_id=row["product_id"],
        quantity=int(row["quantity"]),
        status=row["status"],
        created_at=parse_iso_required(row["created_at"]),
        released_at=parse_iso(row["released_at"]),
    )


class SqlSellers:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, seller: Seller) -> None:
        await self._tx.execute(
            "INSERT INTO sellers (id, name, created_at) VALUES (:id, :name, :created_at)",
            {"id": seller.id, "name": seller.name, "created_at": iso(seller.created_at)},
        )

    async def get(self, seller_id: str) -> Seller | None:
        row = await self._tx.fetchone(
            "SELECT id, name, created_at FROM sellers WHERE id = :id", {"id": seller_id}
        )
        return Seller(row["id"], row["name"], parse_iso_required(row["created_at"])) if row else None


class SqlProducts:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, product: Product) -> None:
        await self._tx.execute(
            f"INSERT INTO products ({_PRODUCT_COLUMNS}) VALUES (:id, :seller_id, :name, :price, :stock, "
            ":stock_received, :status, :created_at, :updated_at)",
            _product_params(product),
        )

    async def get(self, product_id: str, for_update: bool = False) -> Product | None:
        lock = lock_clause(self._tx.dialect) if for_update else ""
        row = await self._tx.fetchone(
            f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE id = :id{lock}", {"id": product_id}
        )
        return _product(row) if row else None

    async def get_many(self, product_ids: Sequence[str]) -> list[Product]:
        if not product_ids:
            return []
        names = {f"p{i}": product_id for i, product_id in enumerate(product_ids)}
        rows = await self._tx.fetchall(
            f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE id IN ({', '.join(':' + n for n in names)})",
            names,
        )
        return [_product(r) for r in rows]

    async def newest(self, limit: int, cursor: str | None) -> list[Product]:
        after = "WHERE id < :cursor " if cursor else ""
        rows = await self._tx.fetchall(
            f"SELECT {_PRODUCT_COLUMNS} FROM products {after}ORDER BY id DESC LIMIT :limit",
            {"cursor": cursor, "limit": limit},
        )
        return [_product(r) for r in rows]

    async def save(self, product: Product) -> None:
        await self._tx.execute(
            "UPDATE products SET name = :name, price = :price, stock = :stock, stock_received = :stock_received, "
            "status = :status, updated_at = :updated_at WHERE id = :id",
            _product_params(product),
        )

    async def take_stock(self, product_id: str, quantity: int, at: datetime) -> bool:
        changed = await self._tx.execute(
            "UPDATE products SET stock = stock - :q, updated_at = :at WHERE id = :id AND stock >= :q",
            {"id": product_id, "q": quantity, "at": iso(at)},
        )
        return changed == 1

    async def put_back(self, product_id: str, quantity: int, at: datetime) -> None:
        await self._tx.execute(
            "UPDATE products SET stock = stock + :q, updated_at = :at WHERE id = :id",
            {"id": product_id, "q": quantity, "at": iso(at)},
        )


def _product_params(product: Product) -> dict[str, object]:
    return {**product.__dict__, "created_at": iso(product.created_at), "updated_at": iso(product.updated_at)}


class SqlReservations:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def of_order(self, order_id: str, for_update: bool = False) -> list[Reservation]:
        lock = lock_clause(self._tx.dialect) if for_update else ""
        rows = await self._tx.fetchall(
            f"SELECT {_RESERVATION_COLUMNS} FROM reservations WHERE order_id = :o ORDER BY product_id{lock}",
            {"o": order_id},
        )
        return [_reservation(r) for r in rows]

    async def add(self, reservations: Sequence[Reservation]) -> None:
        for r in reservations:
            await self._tx.write(
                f"INSERT INTO reservations ({_RESERVATION_COLUMNS}) VALUES "
                "(:order_id, :product_id, :quantity, :status, :created_at, :released_at)",
                {**r.__dict__, "created_at": iso(r.created_at), "released_at": iso(r.released_at)},
            )

    async def release(self, order_id: str, product_id: str, at: datetime) -> bool:
        changed = await self._tx.execute(
            "UPDATE reservations SET status = 'RELEASED', released_at = :at "
            "WHERE order_id = :o AND product_id = :p AND status = 'RESERVED'",
            {"o": order_id, "p": product_id, "at": iso(at)},
        )
        return changed == 1

    async def release_part(self, order_id: str, product_id: str, quantity: int) -> bool:
        changed = await self._tx.execute(
            "UPDATE reservations SET quantity = quantity - :q "
            "WHERE order_id = :o AND product_id = :p AND status = 'RESERVED' AND quantity >= :q",
            {"o": order_id, "p": product_id, "q": quantity},
        )
        return changed == 1


class SqlUnitOfWork:
    def __init__(self, tx: Tx, clock: Clock, outbox_wake: asyncio.Event | None) -> None:
        self.sellers = SqlSellers(tx)
        self.products = SqlProducts(tx)
        self.reservations = SqlReservations(tx)
        self.inbox = SqlInbox(tx)
        self.outbox = SqlOutbox(tx, clock, outbox_wake)


def sql_uow(
    db: Database, clock: Clock, outbox_wake: asyncio.Event | None = None
) -> Callable[[], AbstractAsyncContextManager[SqlUnitOfWork]]:
    """The product service's unit-of-work factory over `db`: one transaction per block."""

    return transaction_uow(db, lambda tx: SqlUnitOfWork(tx, clock, outbox_wake))


def sql_writer(
    db: Database, clock: Clock, outbox_wake: asyncio.Event | None = None
) -> BatchWriter[SqlUnitOfWork]:
    """The product service's batched write path over `db` (infra/batching.py)."""
    return BatchWriter(db, lambda tx: SqlUnitOfWork(tx, clock, outbox_wake))
