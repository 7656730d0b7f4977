"""The Database port behaves the same on SQLite (embedded) and MariaDB (distributed).

The MariaDB half runs when MARKET_TEST_MYSQL_URL points at a reachable server (tests/integration/conftest.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from market.infra.migrations import migrate
from market.infra.outbox import SqlInbox, SqlOutbox, SqlOutboxStore
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import ManualClock
from market.kernel.db import Database, for_update, insert_ignore
from market.kernel.events import Envelope
from market.product.adapters.migrations import HISTORY as OUTBOX  # outbox, inbox, leases, dead letters
from tests.events import event
from tests.integration.conftest import mysql_database

STOCK = "CREATE TABLE stock (id VARCHAR(32) PRIMARY KEY, qty BIGINT NOT NULL)"


@pytest.fixture(params=["sqlite", "mysql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        sqlite = SqliteDatabase(tmp_path / "contract.db")
        yield sqlite
        await sqlite.close()
        return
    async with mysql_database(pool_size=10, max_overflow=10) as mysql:
        yield mysql


async def stock(db: Database, **rows: int) -> None:
    async with db.transaction() as tx:
        await tx.execute(STOCK)
        rows_ = [{"id": k, "qty": v} for k, v in rows.items()]
        await tx.executemany("INSERT INTO stock (id, qty) VALUES (:id, :qty)", rows_)


async def qty(db: Database, id_: str) -> int:
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT qty FROM stock WHERE id = :id", {"id": id_})
    assert row is not None
    return int(row["qty"])


async def test_a_committed_transaction_is_seen_by_the_next(db: Database) -> None:
    await stock(db, prd_1=5)
    async with db.transaction() as tx:
        assert await tx.execute("UPDATE stock SET qty = :q WHERE id = :id", {"q": 7, "id": "prd_1"}) == 1
    assert await qty(db, "prd_1") == 7
    await db.ping()


async def test_an_exception_rolls_everything_back_and_propagates(db: Database) -> None:
    await stock(db, prd_1=5)
    with pytest.raises(RuntimeError, match="payment declined"):
        async with db.transaction() as tx:
            await tx.execute("UPDATE stock SET qty = 0 WHERE id = 'prd_1'")
            await tx.execute("INSERT INTO stock (id, qty) VALUES ('prd_2', 1)")
            raise RuntimeError("payment declined")
    assert await qty(db, "prd_1") == 5
    async with db.transaction() as tx:
        assert await tx.fetchone("SELECT qty FROM stock WHERE id = 'prd_2'") is None


async def test_rows_are_dicts_and_money_stays_an_exact_integer(db: Database) -> None:
    big = 9_007_199_254_740_993  # 2**53 + 1: a float would round it
    await stock(db, a=big, b=0, c=3)
    async with db.transaction() as tx:
        rows = await tx.fetchall("SELECT id, qty FROM stock WHERE qty >= :min ORDER BY id", {"min": 1})
        none = await tx.fetchall("SELECT id FROM stock WHERE qty < 0")
    assert rows == [{"id": "a", "qty": big}, {"id": "c", "qty": 3}]
    assert none == []


async def test_the_rowcount_tells_whether_a_conditional_update_took_effect(db: Database) -> None:
    await stock(db, prd_1=3, prd_2=3)
    take = "UPDATE stock SET qty = qty - :n WHERE id = :id AND qty >= :n"
    async with db.transaction() as tx:
        assert await tx.execute(take, {"id": "prd_1", "n": 2}) == 1
        assert await tx.execute(take, {"id": "prd_1", "n": 2}) == 0
        assert await tx.execute(take, {"id": "nope", "n": 1}) == 0
        assert await tx.execute("UPDATE stock SET qty = qty + 1") == 2
        # Matched rows, not changed rows, on both (MariaDB through CLIENT_FOUND_ROWS).
        assert await tx.execute("UPDATE stock SET qty = qty WHERE id = 'prd_2'") == 1
        assert await tx.execute("DELETE FROM stock WHERE qty < :q", {"q": 3}) == 1
    assert await qty(db, "prd_2") == 4


async def test_insert_ignore_and_the_inbox_tell_a_new_row_from_a_duplicate(db: Database) -> None:
    await migrate(db, OUTBOX)
    env = event("OrderCreated", "ord_1", ManualClock().now(), member_id="mem_1")
    sql = f"{insert_ignore(db.dialect)} INTO inbox (event_id, event_type, order_id) VALUES (:e, 'X', 'o')"
    async with db.transaction() as tx:
        assert await SqlInbox(tx).claim(env) is True
        assert await SqlInbox(tx).claim(env) is False
        assert await tx.execute(sql, {"e": "other"}) == 1
        assert await tx.execute(sql, {"e": "other"}) == 0
    async with db.transaction() as tx:
        assert await SqlInbox(tx).claim(env) is False


async def test_the_outbox_keeps_its_order(db: Database) -> None:
    await migrate(db, OUTBOX)
    now = ManualClock().now()
    envs = [event("OrderCreated", f"ord_{i}", now, note="한글 ✓", n=i) for i in range(5)]
    async with db.transaction() as tx:
        for env in envs:
            await SqlOutbox(tx, ManualClock()).add(env)
    store, published = SqlOutboxStore(db), []

    async def publish(batch: Sequence[Envelope]) -> None:
        published.append(list(batch))

    assert await store.relay(2, publish) == 2 and await store.backlog() == 3
    assert await store.relay(10, publish) == 3 and await store.backlog() == 0
    assert published == [envs[:2], envs[2:]]  # in order, each row once


async def test_concurrent_conditional_decrements_never_go_below_zero(db: Database) -> None:
    await stock(db, prd_1=1)

    async def buy() -> bool:
        async with db.transaction() as tx:
            taken = await tx.execute("UPDATE stock SET qty = qty - 1 WHERE id = 'prd_1' AND qty >= 1")
            await asyncio.sleep(0)  # let the others run while this one holds its row
            return taken == 1

    results = await asyncio.gather(*(buy() for _ in range(50)))
    assert results.count(True) == 1
    assert await qty(db, "prd_1") == 0


async def test_read_modify_write_under_for_update_loses_no_update(db: Database) -> None:
    await stock(db, prd_1=0)

    async def add_one() -> None:
        async with db.transaction() as tx:
            row = await tx.fetchone(f"SELECT qty FROM stock WHERE id = 'prd_1'{for_update(db.dialect)}")
            assert row is not None
            await asyncio.sleep(0)
            await tx.execute("UPDATE stock SET qty = :q WHERE id = 'prd_1'", {"q": row["qty"] + 1})

    await asyncio.gather(*(add_one() for _ in range(20)))
    assert await qty(db, "prd_1") == 20


async def test_writes_are_seen_by_the_next_statement_and_committed_with_the_transaction(db: Database) -> None:
    await stock(db, prd_1=5)
    async with db.transaction() as tx:
        await tx.write("UPDATE stock SET qty = qty - :q WHERE id = :id", {"q": 2, "id": "prd_1"})
        await tx.write("INSERT INTO stock (id, qty) VALUES (:id, :qty)", {"id": "it's 100%", "qty": 1})
        # A statement after the writes sees them (the same transaction).
        rows = await tx.fetchall("SELECT id, qty FROM stock ORDER BY id")
        assert rows == [{"id": "it's 100%", "qty": 1}, {"id": "prd_1", "qty": 3}]
        await tx.write("UPDATE stock SET qty = qty + 10 WHERE id = :id", {"id": "it's 100%"})
    assert await qty(db, "prd_1") == 3
    assert await qty(db, "it's 100%") == 11


async def test_a_failing_write_fails_its_transaction_and_keeps_nothing(db: Database) -> None:
    await stock(db, prd_1=5)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        async with db.transaction() as tx:
            assert await tx.execute("UPDATE stock SET qty = 0 WHERE id = 'prd_1'") == 1
            await tx.write("INSERT INTO stock (id, qty) VALUES ('prd_2', 1)")
            await tx.write("INSERT INTO stock (id, qty) VALUES ('prd_1', 1)")  # a duplicate key
            await tx.write("INSERT INTO stock (id, qty) VALUES ('prd_3', 1)")
    assert await qty(db, "prd_1") == 5
    async with db.transaction() as tx:
        assert await tx.fetchall("SELECT id FROM stock WHERE id <> 'prd_1'") == []
    # The connection (MariaDB: back in the pool) serves the next transaction.
    async with db.transaction() as tx:
        await tx.write("UPDATE stock SET qty = 6 WHERE id = 'prd_1'")
    assert await qty(db, "prd_1") == 6


async def test_writes_of_a_transaction_that_raises_are_not_kept(db: Database) -> None:
    await stock(db, prd_1=5)
    with pytest.raises(RuntimeError, match="client went away"):
        async with db.transaction() as tx:
            await tx.write("UPDATE stock SET qty = 0 WHERE id = 'prd_1'")
            raise RuntimeError("client went away")
    assert await qty(db, "prd_1") == 5
