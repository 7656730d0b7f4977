"""Placements through the batched write path (infra/batching.py) on SQLite, as a buyer sees them: orders
placed at the same moment are each stored and answered, one that fails leaves the others placed, a COMMIT
that fails answers every caller with an error, and Idempotency-Key replays answer what they answered."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from market.infra.batching import BatchWriter
from market.infra.migrations import migrate
from market.infra.sqlite import SqliteDatabase
from market.order.adapters.migrations import HISTORY
from market.order.adapters.sql import SqlUnitOfWork, sql_uow
from market.order.domain import Order
from market.order.use_cases.idempotency import Reply
from tests.unit.order.fakes import World, pg

MEMBERS = [f"mem_{i}" for i in range(12)]


class _Orders:
    """The order repository, except that an order of `mem_bad` is written, then refused."""

    def __init__(self, orders: Any) -> None:
        self._orders = orders

    def __getattr__(self, name: str) -> Any:
        return getattr(self._orders, name)

    async def add(self, order: Order) -> None:
        await self._orders.add(order)
        if order.member_id == "mem_bad":
            raise sqlite3.IntegrityError("refused after writing")


class _Conn:
    """The connection, except that its COMMITs fail while `failing`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn, self.failing = conn, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if self.failing and sql == "COMMIT":
            raise sqlite3.OperationalError("disk I/O error")
        return self._conn.execute(sql, *args)


@dataclass
class Shop:
    """The real OrderService on SQLite, writing through a BatchWriter; fake member and product services."""

    world: World
    db: SqliteDatabase
    conn: _Conn
    writer: BatchWriter[SqlUnitOfWork]


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[Shop]:
    db = SqliteDatabase(tmp_path / "order.db")
    await migrate(db, HISTORY)
    world, conn = World(), _Conn(db.conn)
    db.conn = conn  # type: ignore[assignment]

    def make(tx: Any) -> SqlUnitOfWork:
        uow = SqlUnitOfWork(tx, world.clock, None)
        uow.orders = _Orders(uow.orders)  # type: ignore[assignment]
        return uow

    writer = BatchWriter(db, make)
    world.rewire(sql_uow(db, world.clock), writer)
    for member in [*MEMBERS, "mem_bad"]:
        world.member(member)
    world.catalog.add("prd_a", 5_000, stock=100)
    yield Shop(world, db, conn, writer)
    await db.close()


def place(shop: Shop, member: str, key: str = "k1") -> Any:
    return shop.world.service.place(member, key, [("prd_a", 1)], [pg(5_000)])


async def stored(shop: Shop) -> dict[str, str]:
    """Order id → member of every order committed, and the OrderCreated of each."""
    async with shop.db.transaction() as tx:
        orders = await tx.fetchall("SELECT id, member_id FROM orders")
        created = await tx.fetchall("SELECT body FROM outbox")
    assert len(created) == len(orders)
    return {r["id"]: r["member_id"] for r in orders}


async def test_orders_placed_together_are_each_stored_and_answered(shop: Shop) -> None:
    replies: list[Reply] = await asyncio.gather(*(place(shop, m) for m in MEMBERS))

    assert [r.status for r in replies] == [201] * len(MEMBERS)
    assert await stored(shop) == {r.order_id: m for r, m in zip(replies, MEMBERS, strict=True)}
    assert shop.world.catalog.stock["prd_a"] == 100 - len(MEMBERS)
    assert shop.writer.batches < shop.writer.bodies  # they shared commits


async def test_replays_answer_what_the_first_placements_answered(shop: Shop) -> None:
    first: list[Reply] = await asyncio.gather(*(place(shop, m) for m in MEMBERS))
    again: list[Reply] = await asyncio.gather(*(place(shop, m) for m in MEMBERS))

    assert [(r.status, r.body, r.order_id) for r in again] == [(r.status, r.body, r.order_id) for r in first]
    assert len(await stored(shop)) == len(MEMBERS)


async def test_one_placement_failing_in_a_batch_leaves_the_others_placed(shop: Shop) -> None:
    members = [*MEMBERS[:5], "mem_bad", *MEMBERS[5:]]
    replies = await asyncio.gather(*(place(shop, m) for m in members), return_exceptions=True)

    failed = replies[5]
    assert isinstance(failed, sqlite3.IntegrityError)
    ok = [r for r in replies if isinstance(r, Reply)]
    assert [r.status for r in ok] == [201] * len(MEMBERS)
    assert sorted((await stored(shop)).values()) == sorted(MEMBERS)  # mem_bad's order undone, no one else's
    assert shop.world.catalog.stock["prd_a"] == 100 - len(MEMBERS)  # its stock given back
    assert shop.writer.batches < shop.writer.bodies


async def test_two_requests_with_one_key_in_a_batch_place_one_order(shop: Shop) -> None:
    replies = await asyncio.gather(
        place(shop, MEMBERS[0]), place(shop, MEMBERS[1]), place(shop, MEMBERS[1]), return_exceptions=True
    )

    assert isinstance(replies[0], Reply) and isinstance(replies[1], Reply)
    assert getattr(replies[2], "code", None) == "IDEMPOTENCY_KEY_IN_USE"
    assert sorted((await stored(shop)).values()) == MEMBERS[:2]
    assert shop.writer.batches < shop.writer.bodies


async def test_a_failed_commit_answers_every_caller_with_an_error_and_their_keys_stay_free(
    shop: Shop,
) -> None:
    shop.conn.failing = True
    replies = await asyncio.gather(*(place(shop, m) for m in MEMBERS), return_exceptions=True)
    shop.conn.failing = False

    assert all(isinstance(r, sqlite3.OperationalError) for r in replies)
    assert shop.writer.batches < shop.writer.bodies  # the COMMIT that failed was a batch's
    assert await stored(shop) == {}
    retried: list[Reply] = await asyncio.gather(*(place(shop, m) for m in MEMBERS))
    assert [r.status for r in retried] == [201] * len(MEMBERS)
    assert len(await stored(shop)) == len(MEMBERS)
