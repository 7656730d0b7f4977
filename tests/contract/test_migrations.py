"""Migrations (infra.migrations, Alembic) on SQLite and MariaDB: a fresh database reaches its history's head
with the tables its repositories use; a database of the previous mechanism is adopted, not migrated again;
two migrators at once apply the schema once.

The MariaDB half runs when MARKET_TEST_MYSQL_URL points at a reachable server (tests/integration/conftest.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from market.bootstrap.migrate import HISTORIES
from market.infra.migrations import History, migrate
from market.infra.mysql import MysqlDatabase
from market.infra.sqlite import SqliteDatabase
from market.kernel.db import Database
from tests.contract.backends import SQL_BACKENDS, sql_database

# The tables each database's repositories, jobs, relay and consumers read and write.
TABLES = {
    "member": {"members", "point_ledger", "attempts", "job_leases"},
    "product": {"sellers", "products", "reservations", "outbox", "inbox", "job_leases", "dead_letters"},
    "order": {"orders", "idempotency_keys", "outbox", "inbox", "job_leases", "dead_letters"},
    "payment": {
        "payments",
        "coupon_definitions",
        "issued_coupons",
        "outbox",
        "inbox",
        "job_leases",
        "dead_letters",
    },
    "notification": {"notifications", "job_leases", "dead_letters"},
    "reporting": {"report_orders", "report_order_sellers", "report_sales", "outbox", "inbox"},
    "pg_sandbox": {
        "sandbox_card_payments",
        "sandbox_card_cancels",
        "sandbox_bnpl_payments",
        "sandbox_bnpl_cancels",
        "sandbox_idempotency",
        "sandbox_faults",
    },
}
VERSION_TABLES = {"alembic_version", "schema_migrations"}

Open = Callable[[], AbstractAsyncContextManager[Database]]


@pytest.fixture(params=SQL_BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Open]:
    """Opens the one database under test, as often as asked: each a migrator of its own."""
    async with sql_database(request.param, tmp_path, "service") as db:

        @asynccontextmanager
        async def another() -> AsyncIterator[Database]:
            other = (
                SqliteDatabase(db.path) if isinstance(db, SqliteDatabase) else MysqlDatabase(db.engine_url)
            )
            try:
                yield other
            finally:
                await other.close()

        yield another


async def schema(db: Database) -> dict[str, list[object]]:
    """Every table but the version tables, with its columns and indexes, as the database describes them."""
    async with db.transaction() as tx:
        if db.dialect == "sqlite":
            rows = await tx.fetchall(
                "SELECT tbl_name AS t, name, sql FROM sqlite_master "
                "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
            )
            described = [(r["t"], r["name"], r["sql"]) for r in rows]
        else:
            columns = await tx.fetchall(
                "SELECT table_name AS t, column_name, column_type, is_nullable, column_default, "
                "collation_name, column_key, extra, ordinal_position FROM information_schema.columns "
                "WHERE table_schema = DATABASE()"
            )
            indexes = await tx.fetchall(
                "SELECT table_name AS t, index_name, non_unique, seq_in_index, column_name "
                "FROM information_schema.statistics WHERE table_schema = DATABASE()"
            )
            described = [tuple(sorted(r.items())) for r in [*columns, *indexes]]
    tables: dict[str, list[object]] = {}
    for row in sorted(described, key=repr):
        table = row[0] if db.dialect == "sqlite" else dict(row)["t"]
        if table not in VERSION_TABLES:
            tables.setdefault(str(table), []).append(row)
    return tables


async def as_the_previous_mechanism_left_it(db: Database, history: History, version: int) -> None:
    """`db` at `version` as the previous mechanism left it: the same DDL, recorded in `schema_migrations`."""
    await migrate(db, history, to=history.revisions()[version - 1])
    async with db.transaction() as tx:
        await tx.execute("DROP TABLE alembic_version")
        await tx.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)")
        await tx.executemany("INSERT INTO schema_migrations (version) VALUES (:v)",
                             [{"v": v} for v in range(1, version + 1)])  # fmt: skip


@pytest.mark.parametrize("name", TABLES)
async def test_a_fresh_database_reaches_the_head_with_every_table_its_service_uses(
    database: Open, name: str
) -> None:
    history = HISTORIES[name]
    async with database() as db:
        migrated = await migrate(db, history)
        assert [line.split(":")[0] for line in migrated.applied] == history.revisions()
        assert migrated.head == history.revisions()[-1]
        assert set(await schema(db)) == TABLES[name]
        again = await migrate(db, history)
        assert (again.applied, again.head) == ([], migrated.head)


@pytest.mark.parametrize("name", TABLES)
async def test_a_database_of_the_previous_mechanism_is_adopted_and_ends_with_the_same_schema(
    database: Open, tmp_path: Path, name: str
) -> None:
    history = HISTORIES[name]
    async with database() as db:
        await as_the_previous_mechanism_left_it(db, history, 1)
        migrated = await migrate(db, history)  # its first revision's DDL again would fail: tables exist
        assert migrated.adopted == history.revisions()[0]
        assert [line.split(":")[0] for line in migrated.applied] == history.revisions()[1:]
        assert (await migrate(db, history)).adopted == ""  # schema_migrations is read once
        # The same schema as a database that never knew the previous mechanism.
        async with sql_database("sqlite" if db.dialect == "sqlite" else "mysql", tmp_path, "fresh") as fresh:
            await migrate(fresh, history)
            assert await schema(db) == await schema(fresh)


async def test_a_member_of_the_previous_mechanism_keeps_its_rows_through_the_adoption(database: Open) -> None:
    history = HISTORIES["member"]
    async with database() as db:
        await as_the_previous_mechanism_left_it(db, history, 2)
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO members (id, email, name, password_hash, role, status, point_balance, created_at) "
                "VALUES ('mem_1', 'm@example.com', 'M', 'h', 'member', 'ACTIVE', 700, '2026-01-01')"
            )
        migrated = await migrate(db, history)
        assert (migrated.adopted, migrated.head) == ("member_0002", history.revisions()[-1])
        async with db.transaction() as tx:
            row = await tx.fetchone("SELECT point_balance, locale FROM members WHERE id = 'mem_1'")
        assert row == {"point_balance": 700, "locale": "ko"}


async def test_two_migrators_at_once_apply_the_schema_once_and_both_end_at_the_head(database: Open) -> None:
    history = HISTORIES["order"]
    async with database() as one, database() as two:
        first, second = await asyncio.gather(migrate(one, history), migrate(two, history))
    applied = sorted([first.applied, second.applied], key=len)
    assert applied[0] == [] and len(applied[1]) == len(history.revisions())
    assert first.head == second.head == history.revisions()[-1]


async def test_a_migrator_waits_for_the_lock_another_holds_and_gives_up_after_its_wait(
    database: Open,
) -> None:
    history = HISTORIES["reporting"]
    async with database() as db, database() as waiting, holding(db):
        with pytest.raises(TimeoutError):
            await migrate(waiting, history, wait=0.3)
        late = asyncio.create_task(migrate(waiting, history))
        await asyncio.sleep(0.5)
        assert not late.done()
        assert await schema(db) == {}
    migrated = await late
    assert len(migrated.applied) == len(history.revisions())


@asynccontextmanager
async def holding(db: Database) -> AsyncIterator[None]:
    """The migration lock of `db`'s database, held by another session as long as the block runs."""
    if isinstance(db, SqliteDatabase):
        other = sqlite3.connect(db.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    assert isinstance(db, MysqlDatabase)
    lock = {"name": f"market_migrate_{db.engine_url.database}"}
    session = MysqlDatabase(db.engine_url, pool_size=1, max_overflow=0)
    async with session.transaction() as tx:
        assert (await tx.fetchone("SELECT GET_LOCK(:name, 0) AS held", lock)) == {"held": 1}
        try:
            yield
        finally:
            await tx.fetchone("SELECT RELEASE_LOCK(:name) AS released", lock)
    await session.close()
