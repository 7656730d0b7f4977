"""The embedded mode's database: one SQLite file per service, WAL, one connection, group commit.

sqlite3 is called directly (not through a thread pool or aiosqlite): each statement takes microseconds,
and hopping threads per statement costs more than it saves.

Group commit: a transaction that writes runs as a SAVEPOINT inside one outer transaction shared by every
transaction of the same event-loop turn; the outer COMMIT runs once per turn, and no transaction returns
before the COMMIT that covers it — so a caller never acts on data that could still be lost, and one
COMMIT serves many requests (the batched write path of docs/architecture.md). A transaction writes from
its first call of a writing method of the port (`execute`, `executemany`, `write`); one that only
`fetch`es issues neither BEGIN nor COMMIT, and if it ran while a group was open (it may have seen the
group's writes), it waits for that COMMIT too.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from market.infra.tally import tally
from market.kernel.db import Params, Row

# Prepared statements kept per connection: more than one service's distinct SQL texts (sqlite3 keeps 128).
_STATEMENTS = 512


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {col[0]: value for col, value in zip(cursor.description, row, strict=True)}


class SqliteTx:
    dialect = "sqlite"

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        self._conn = db.conn
        self.writes = False

    def _writing(self) -> None:
        self._db.tally.statements += 1
        if not self.writes:
            self._db.open_group()
            self._conn.execute("SAVEPOINT tx")
            self.writes = True

    async def execute(self, sql: str, params: Params | None = None) -> int:
        self._writing()
        return self._conn.execute(sql, params or {}).rowcount

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self._writing()
        self._conn.executemany(sql, rows)

    async def write(self, sql: str, params: Params | None = None) -> None:
        # A statement costs microseconds here, with no round trip to save: run it now.
        self._writing()
        self._conn.execute(sql, params or {})

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        self._db.tally.statements += 1
        row: Row | None = self._conn.execute(sql, params or {}).fetchone()
        return row

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        self._db.tally.statements += 1
        return self._conn.execute(sql, params or {}).fetchall()

    async def savepoint(self, name: str) -> None:
        self._writing()
        self._conn.execute(f"SAVEPOINT {name}")

    async def release(self, name: str) -> None:
        self._db.tally.statements += 1
        self._conn.execute(f"RELEASE {name}")

    async def rollback_to(self, name: str) -> None:
        self._db.tally.statements += 2
        self._conn.execute(f"ROLLBACK TO {name}")
        self._conn.execute(f"RELEASE {name}")  # SQLite keeps a savepoint rolled back to on its stack


class SqliteDatabase:
    dialect = "sqlite"

    def __init__(self, path: str | Path, readonly: bool = False, synchronous: str = "NORMAL") -> None:
        self.path = str(path)
        self._readonly = readonly
        self.tally = tally(Path(self.path).stem)
        if readonly:
            # Readers (the auditor) never take the write lock of a running service.
            self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                                        check_same_thread=False, cached_statements=_STATEMENTS)  # fmt: skip
        else:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, cached_statements=_STATEMENTS
            )
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.row_factory = _dict_row
        # NORMAL in WAL mode: a power cut may lose the last commits, never corrupt; a crash loses nothing.
        # FULL syncs the WAL at every COMMIT: a commit that returned survives a power cut too (the order and
        # payment databases, whose rows are promises to a customer: bootstrap/embedded.py).
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous={synchronous!r}: NORMAL or FULL")
        self.conn.execute(f"PRAGMA synchronous={synchronous}")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self._lock = asyncio.Lock()
        # The open group's waiters, one future each: the COMMIT wakes each caller directly (a shared future
        # behind asyncio.shield, so that a cancelled caller leaves it alone, cost every caller a turn more).
        self._group: list[asyncio.Future[None]] | None = None

    def open_group(self) -> None:
        """Begin the outer transaction of this turn, if not begun yet, and schedule its COMMIT."""
        if self._group is None:
            self.conn.execute("BEGIN IMMEDIATE")
            self._group = []
            asyncio.get_running_loop().call_soon(self._commit_group)

    def _commit_group(self) -> None:
        waiters = self._group
        if waiters is None:
            return
        if self._lock.locked():
            # A transaction body is suspended mid-way: its savepoint is open; commit on a later turn.
            asyncio.get_running_loop().call_soon(self._commit_group)
            return
        self._group = None
        try:
            self.tally.commits += 1
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            for waiter in waiters:
                if not waiter.done():  # a cancelled caller is gone; every other one sees the error
                    waiter.set_exception(exc)
            return
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def transaction(self) -> _Transaction:
        return _Transaction(self)

    async def ping(self) -> None:
        self.conn.execute("SELECT 1").fetchone()

    async def close(self) -> None:
        if self._group is not None:
            self._commit_group()
        self.conn.close()


class _Transaction:
    """`SqliteDatabase.transaction()`: a plain class rather than an `asynccontextmanager`, whose generator
    cost a few microseconds more on every transaction (docs/performance.md)."""

    __slots__ = ("_db", "_tx")

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def __aenter__(self) -> SqliteTx:
        db = self._db
        await db._lock.acquire()
        if db._readonly:
            try:
                db.conn.execute("BEGIN")
            except BaseException:
                db._lock.release()
                raise
        self._tx = SqliteTx(db)
        return self._tx

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        db, tx = self._db, self._tx
        waiter: asyncio.Future[None] | None = None
        try:
            if db._readonly:
                db.conn.execute("ROLLBACK")
            elif kind is not None:
                if tx.writes:
                    db.conn.execute("ROLLBACK TO tx")
                    db.conn.execute("RELEASE tx")
            else:
                if tx.writes:
                    db.conn.execute("RELEASE tx")
                if db._group is not None:
                    waiter = asyncio.get_running_loop().create_future()
                    db._group.append(waiter)
        finally:
            db._lock.release()
        if waiter is not None:
            await waiter
