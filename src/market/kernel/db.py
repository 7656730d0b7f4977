"""The SQL port that the services' SQL adapters are written against.

Statements use `:name` parameters, which sqlite3 understands and the MariaDB adapter translates by the
rules of SQLAlchemy's `text()`, so one repository serves SQLite (embedded) and MariaDB (distributed).
A transaction body never awaits anything but its own statements: on SQLite one connection serialises all
transactions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, TypeVar

Row = dict[str, Any]
Params = Mapping[str, Any]
UoW = TypeVar("UoW")


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


class Database(Protocol):
    dialect: str

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """Commit when the block ends normally, roll back when it raises."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def transaction_uow(
    db: Database, make: Callable[[Tx], UoW]
) -> Callable[[], AbstractAsyncContextManager[UoW]]:
    """A unit-of-work factory over `db`: each block is one transaction, its repositories made by `make`."""

    @asynccontextmanager
    async def uow() -> AsyncIterator[UoW]:
        async with db.transaction() as tx:
            yield make(tx)

    return uow


def insert_ignore(dialect: str) -> str:
    return "INSERT OR IGNORE" if dialect == "sqlite" else "INSERT IGNORE"


def for_update(dialect: str) -> str:
    # SQLite's BEGIN IMMEDIATE already holds the write lock for the whole transaction.
    return "" if dialect == "sqlite" else " FOR UPDATE"
