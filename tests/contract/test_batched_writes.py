"""The batched write path behaves the same on SQLite (embedded) and MariaDB (distributed): bodies that
arrive together are committed once, each with its own outcome, whether a body's error is its own raise,
a refused statement it sent, or a refused `write` still waiting to travel with a later statement.

The MariaDB half runs when MARKET_TEST_MYSQL_URL points at a reachable server (tests/integration/conftest.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from market.infra.batching import BatchWriter
from market.kernel.db import Database, Tx
from market.kernel.errors import DomainError
from tests.contract.backends import SQL_BACKENDS, sql_database

Body = Callable[[Tx], Awaitable[Any]]


@pytest.fixture(params=SQL_BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with sql_database(request.param, tmp_path, "batched") as database:
        async with database.transaction() as tx:
            await tx.execute("CREATE TABLE stock (id VARCHAR(8) PRIMARY KEY, qty BIGINT NOT NULL)")
            await tx.execute("CREATE TABLE reserved (order_id VARCHAR(8) PRIMARY KEY, qty BIGINT NOT NULL)")
            await tx.execute("INSERT INTO stock (id, qty) VALUES ('p', 10)")
        yield database


def reserve(order_id: str, qty: int) -> Body:
    """A reservation as the product service makes one: a conditional UPDATE whose rowcount decides, then
    a row written without reading its outcome (a `write`, which may travel with a later statement)."""

    async def body(tx: Tx) -> str:
        if not await tx.execute("UPDATE stock SET qty = qty - :q WHERE id = 'p' AND qty >= :q", {"q": qty}):
            raise DomainError("OUT_OF_STOCK", f"not enough for {order_id}")
        await tx.write("INSERT INTO reserved (order_id, qty) VALUES (:o, :q)", {"o": order_id, "q": qty})
        return order_id

    return body


async def state(db: Database) -> tuple[int, dict[str, int]]:
    async with db.transaction() as tx:
        stock = await tx.fetchone("SELECT qty FROM stock WHERE id = 'p'")
        rows = await tx.fetchall("SELECT order_id, qty FROM reserved ORDER BY order_id")
    assert stock is not None
    return int(stock["qty"]), {r["order_id"]: int(r["qty"]) for r in rows}


async def together(writer: BatchWriter[Tx], *bodies: Body) -> list[Any]:
    """Run `bodies` as one batch: they arrive while a first body (which changes nothing) commits."""

    async def nothing(tx: Tx) -> None:
        await tx.execute("UPDATE stock SET qty = qty WHERE id = 'p'")

    first = asyncio.ensure_future(writer(nothing))
    await asyncio.sleep(0)
    outcomes = await asyncio.gather(*(writer(b) for b in bodies), return_exceptions=True)
    await first
    return list(outcomes)


async def test_one_refused_body_does_not_fail_the_others_of_its_batch(db: Database) -> None:
    writer = BatchWriter(db, lambda tx: tx)
    # o3 asks for more than is left after o1 and o2; o4 repeats o1's key: its INSERT, a `write`, is refused
    # by the server only when it travels, yet the error is o4's own.
    outcomes = await together(
        writer, reserve("o1", 3), reserve("o2", 4), reserve("o3", 5), reserve("o1", 1), reserve("o5", 2)
    )

    assert outcomes[0] == "o1" and outcomes[1] == "o2" and outcomes[4] == "o5"
    assert isinstance(outcomes[2], DomainError) and outcomes[2].code == "OUT_OF_STOCK"
    assert not isinstance(outcomes[3], DomainError) and isinstance(outcomes[3], Exception)  # duplicate key
    assert await state(db) == (10 - 3 - 4 - 2, {"o1": 3, "o2": 4, "o5": 2})
    assert writer.bodies == 6 and writer.batches == 2


async def test_a_body_that_raises_after_its_statements_leaves_nothing_behind(db: Database) -> None:
    writer = BatchWriter(db, lambda tx: tx)

    async def changes_its_mind(tx: Tx) -> None:
        await reserve("o9", 5)(tx)  # sent (the UPDATE) and waiting (the INSERT)
        await tx.fetchone("SELECT qty FROM stock WHERE id = 'p'")  # now the INSERT is sent too
        await tx.write("UPDATE stock SET qty = 0 WHERE id = 'p'")  # and this one waits
        raise DomainError("PRICE_CHANGED", "decided against it")

    outcomes = await together(writer, reserve("o1", 1), changes_its_mind, reserve("o2", 2))

    assert outcomes[0] == "o1" and outcomes[2] == "o2" and isinstance(outcomes[1], DomainError)
    assert await state(db) == (7, {"o1": 1, "o2": 2})


async def test_savepoints_on_the_port(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.savepoint("a")
        await tx.write("UPDATE stock SET qty = 1 WHERE id = 'p'")
        await tx.rollback_to("a")  # the write never left: dropped
        await tx.savepoint("b")
        await tx.execute("UPDATE stock SET qty = 2 WHERE id = 'p'")
        await tx.rollback_to("b")  # sent: undone on the server
        await tx.savepoint("c")
        await tx.write("INSERT INTO reserved (order_id, qty) VALUES ('o1', 1)")
        await tx.release("c")
    assert await state(db) == (10, {"o1": 1})
