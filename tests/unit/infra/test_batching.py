"""The batched write path (infra/batching.py): bodies that arrive together share one transaction and its
COMMIT, each with its own outcome; alone when idle; a transaction that fails as a whole is run again."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from market.infra.batching import BatchWriter
from market.infra.sqlite import SqliteDatabase, SqliteTx
from market.kernel.db import Tx
from market.kernel.errors import DomainError, Unavailable


async def make(tmp_path: Path) -> tuple[SqliteDatabase, list[str]]:
    db = SqliteDatabase(tmp_path / "t.db")
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE placed (id VARCHAR(8) PRIMARY KEY)")
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    return db, statements


def placed(tmp_path: Path) -> list[str]:
    other = sqlite3.connect(tmp_path / "t.db")  # sees only what is committed
    try:
        return [row[0] for row in other.execute("SELECT id FROM placed ORDER BY id")]
    finally:
        other.close()


def place(order_id: str, runs: list[str] | None = None) -> Any:
    async def body(tx: Tx) -> str:
        if runs is not None:
            runs.append(order_id)
        await tx.write("INSERT INTO placed (id) VALUES (:id)", {"id": order_id})
        if order_id.startswith("bad"):
            raise DomainError("OUT_OF_STOCK", f"{order_id} broke a rule after writing")
        return f"placed {order_id}"

    return body


async def test_an_idle_writer_runs_a_body_at_once_alone(tmp_path: Path) -> None:
    db, statements = await make(tmp_path)
    writer = BatchWriter(db, lambda tx: tx)

    assert await writer(place("o1")) == "placed o1"

    assert placed(tmp_path) == ["o1"]
    assert not any(s.startswith("SAVEPOINT b") for s in statements)  # no batch machinery for one body
    assert (writer.batches, writer.bodies) == (1, 1)


async def test_bodies_arriving_together_share_a_commit_and_each_gets_its_own_outcome(tmp_path: Path) -> None:
    db, statements = await make(tmp_path)
    writer = BatchWriter(db, lambda tx: tx)
    ids = ["o1", "o2", "bad3", "o4", "o5"]

    outcomes = await asyncio.gather(*(writer(place(i)) for i in ids), return_exceptions=True)

    assert outcomes[:2] == ["placed o1", "placed o2"] and outcomes[3:] == ["placed o4", "placed o5"]
    assert isinstance(outcomes[2], DomainError) and outcomes[2].code == "OUT_OF_STOCK"
    assert placed(tmp_path) == ["o1", "o2", "o4", "o5"]  # the bad one's write undone, no one else's
    assert (writer.batches, writer.bodies) == (2, 5)  # o1 alone, then the four that came meanwhile
    assert statements.count("COMMIT") == 2


async def test_a_batch_is_bounded(tmp_path: Path) -> None:
    db, _ = await make(tmp_path)
    writer = BatchWriter(db, lambda tx: tx, limit=3)

    await asyncio.gather(*(writer(place(f"o{i}")) for i in range(8)))

    assert len(placed(tmp_path)) == 8
    assert (writer.batches, writer.bodies) == (4, 8)  # 1 alone, then 3 + 3 + 1


class _Deadlocking:
    """A database whose transactions lose every savepoint `deadlocks` times, as a deadlock that undid the
    whole transaction leaves them."""

    def __init__(self, db: SqliteDatabase, deadlocks: int) -> None:
        self.dialect, self._db, self.deadlocks = db.dialect, db, deadlocks

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._db.transaction() as tx:
            yield _Losing(tx, self)


class _Losing:
    def __init__(self, tx: SqliteTx, db: _Deadlocking) -> None:
        self._tx, self._db = tx, db

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    async def rollback_to(self, name: str) -> None:
        if self._db.deadlocks:
            self._db.deadlocks -= 1
            raise sqlite3.OperationalError(f"no such savepoint: {name}")
        await self._tx.rollback_to(name)


async def batch_of_three(writer: BatchWriter[Any], runs: list[str]) -> list[Any]:
    first = asyncio.ensure_future(writer(place("o0", runs)))  # runs alone; the three wait for it
    together = [writer(place(i, runs)) for i in ("o1", "bad2", "o3")]
    outcomes = await asyncio.gather(*together, return_exceptions=True)
    await first
    return outcomes


@pytest.mark.parametrize(("deadlocks", "runs_of_o1"), [(1, 2), (2, 3)])
async def test_a_transaction_that_fails_as_a_whole_runs_again_then_each_alone(
    tmp_path: Path, deadlocks: int, runs_of_o1: int
) -> None:
    db, _ = await make(tmp_path)
    writer = BatchWriter(_Deadlocking(db, deadlocks), lambda tx: tx)  # type: ignore[arg-type]
    runs: list[str] = []

    outcomes = await batch_of_three(writer, runs)

    assert outcomes[0] == "placed o1" and outcomes[2] == "placed o3"
    assert isinstance(outcomes[1], DomainError)
    assert placed(tmp_path) == ["o0", "o1", "o3"]  # committed once, whatever ran before
    assert runs.count("o1") == runs_of_o1  # (1) together again; (2) twice together, then alone


async def test_an_unavailable_database_answers_every_body_of_the_batch(tmp_path: Path) -> None:
    db, _ = await make(tmp_path)
    writer = BatchWriter(db, lambda tx: tx)

    async def gone(tx: Tx) -> None:
        raise Unavailable("database")

    first = asyncio.ensure_future(writer(place("o0")))
    outcomes = await asyncio.gather(writer(place("o1")), writer(gone), return_exceptions=True)
    await first

    assert all(isinstance(o, Unavailable) for o in outcomes)
    assert placed(tmp_path) == ["o0"]


async def test_a_caller_cancelled_while_waiting_leaves_the_batch(tmp_path: Path) -> None:
    db, _ = await make(tmp_path)
    writer = BatchWriter(db, lambda tx: tx)

    first = asyncio.ensure_future(writer(place("o0")))
    await asyncio.sleep(0)  # o0 runs: the next ones wait
    waiting = asyncio.ensure_future(writer(place("o1")))
    kept = asyncio.ensure_future(writer(place("o2")))
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(first, kept, waiting, return_exceptions=True)

    assert placed(tmp_path) == ["o0", "o2"]
