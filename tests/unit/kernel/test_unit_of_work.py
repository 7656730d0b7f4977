"""`transaction_uow`: each block is one transaction of the database, committed or rolled back whole."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from market.infra.sqlite import SqliteDatabase
from market.kernel.db import Tx, transaction_uow


class Repo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx


async def _db(tmp_path: Path) -> SqliteDatabase:
    db = SqliteDatabase(tmp_path / "uow.db")
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE t (n INTEGER)")
    return db


async def _count(db: SqliteDatabase) -> int:
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT COUNT(*) AS n FROM t")
    assert row is not None
    return int(row["n"])


async def test_a_block_commits_when_it_ends_and_rolls_back_whole_when_it_raises(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    uow = transaction_uow(db, Repo)
    async with uow() as repo:
        await repo.tx.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(ValueError):
        async with uow() as repo:
            await repo.tx.execute("INSERT INTO t VALUES (2)")
            await repo.tx.execute("INSERT INTO t VALUES (3)")
            raise ValueError("the use case refuses")
    assert await _count(db) == 1
    await db.close()


async def test_repositories_that_fail_to_build_leave_the_database_usable(tmp_path: Path) -> None:
    db = await _db(tmp_path)

    def broken(tx: Tx) -> Repo:
        raise RuntimeError("cannot build")

    with pytest.raises(RuntimeError):
        async with transaction_uow(db, broken)():
            pass
    async with asyncio.timeout(5), transaction_uow(db, Repo)() as repo:  # waits while the lock is held
        await repo.tx.execute("INSERT INTO t VALUES (1)")
    assert await _count(db) == 1
    await db.close()
