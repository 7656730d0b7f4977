"""The SQL port that the services' SQL adapters are written against.

Statements use `:name` parameters, which sqlite3 understands and the MariaDB adapter translates by the
rules of SQLAlchemy's `text()`, so one repository serves SQLite (embedded) and MariaDB (distributed).
A transaction body never awaits anything but its own statements: on SQLite one connection serialises all
transactions.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

Row = dict[str, Any]
Params = Mapping[str, Any]
UoW = TypeVar("UoW")
UoW_co = TypeVar("UoW_co", covariant=True)
T = TypeVar("T")


class Tx(Protocol):
    dialect: str

    async def execute(self, sql: str, params: Params | None = None) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None: ...

    async def write(self, sql: str, params: Params | None = None) -> None:
        """Run one statement whose outcome the caller does not read: it may travel with the transaction's
        next statement or with its COMMIT. An error it raises surfaces there, and rolls back the whole
        transaction as any error does; so a statement whose failure the caller handles is `execute`d."""
        ...

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None: ...

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]: ...

    async def savepoint(self, name: str) -> None:
        """Mark a point the transaction can roll back to (`rollback_to`) while keeping what came before."""
        ...

    async def release(self, name: str) -> None:
        """Keep what was done since the savepoint; an error of a `write` since then raises here."""
        ...

    async def rollback_to(self, name: str) -> None:
        """Undo what was done since the savepoint, `write`s not sent yet included; the rest stays."""
        ...


class Database(Protocol):
    dialect: str

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """Commit when the block ends normally, roll back when it raises."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class _Block(Generic[UoW]):
    """One unit of work: `db`'s transaction with the repositories `make` builds on it.

    A plain class rather than an `asynccontextmanager`: one is entered for every transaction, and a
    generator-based one, wrapping the database's, cost ~5 µs more per block (docs/performance.md)."""

    __slots__ = ("_db", "_make", "_tx")

    def __init__(self, db: Database, make: Callable[[Tx], UoW]) -> None:
        self._db = db
        self._make = make

    async def __aenter__(self) -> UoW:
        self._tx = self._db.transaction()
        tx = await self._tx.__aenter__()
        try:
            return self._make(tx)
        except BaseException as exc:
            await self._tx.__aexit__(type(exc), exc, exc.__traceback__)
            raise

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await self._tx.__aexit__(kind, exc, tb)


def transaction_uow(
    db: Database, make: Callable[[Tx], UoW]
) -> Callable[[], AbstractAsyncContextManager[UoW]]:
    """A unit-of-work factory over `db`: each block is one transaction, its repositories made by `make`."""
    return functools.partial(_Block, db, make)


class Writer(Protocol[UoW_co]):
    """The write path of a service's database: runs a unit-of-work body, `async def body(uow) -> T`, in a
    transaction, and answers the body's result once it is committed, or the body's own error (nothing
    of it written). Bodies submitted together may share one transaction and its COMMIT, a savepoint each
    (infra/batching.py); so a body touches only its unit of work, and may run more than once."""

    async def __call__(self, body: Callable[[UoW_co], Awaitable[T]]) -> T: ...


class Alone(Generic[UoW]):
    """A `Writer` that runs each body in a unit of work of its own (fakes, tests, one-off writes)."""

    __slots__ = ("_uow",)

    def __init__(self, uow: Callable[[], AbstractAsyncContextManager[UoW]]) -> None:
        self._uow = uow

    async def __call__(self, body: Callable[[UoW], Awaitable[T]]) -> T:
        async with self._uow() as uow:
            return await body(uow)


def insert_ignore(dialect: str) -> str:
    return "INSERT OR IGNORE" if dialect == "sqlite" else "INSERT IGNORE"


def for_update(dialect: str) -> str:
    # SQLite's BEGIN IMMEDIATE already holds the write lock for the whole transaction.
    return "" if dialect == "sqlite" else " FOR UPDATE"
