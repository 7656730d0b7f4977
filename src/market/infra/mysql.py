"""The distributed mode's database: MariaDB/MySQL through SQLAlchemy's AsyncEngine over asyncmy.

Only SQLAlchemy Core's `text()` is used: the services' repositories write plain SQL with `:name`
parameters (see market.kernel.db), and the same statements run on SQLite in the embedded mode.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from market.kernel.db import Params, Row
from market.kernel.errors import Unavailable


def create_database_url(
    database: str,
    host: str = "127.0.0.1",
    port: int = 3306,
    user: str = "market",
    password: str = "",
    driver: str = "mysql+asyncmy",
) -> str:
    """A SQLAlchemy URL for one service's database; the password is escaped whatever it contains."""
    url = URL.create(
        driver, username=user, password=password or None, host=host, port=port, database=database
    )
    return url.render_as_string(hide_password=False)


def _quiet_driver_warnings() -> None:
    # asyncmy logs every server warning at WARNING level, e.g. each duplicate an inbox's INSERT IGNORE
    # skips (an expected outcome); a level set on purpose elsewhere is left alone.
    driver_log = logging.getLogger("asyncmy")
    if driver_log.level == logging.NOTSET:
        driver_log.setLevel(logging.ERROR)


class MysqlTx:
    """One transaction on one pooled connection."""

    dialect = "mysql"

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params | None = None) -> int:
        result = await self._conn.execute(text(sql), dict(params or {}))
        return int(result.rowcount)

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if rows:
            await self._conn.execute(text(sql), [dict(r) for r in rows])

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        result = await self._conn.execute(text(sql), dict(params or {}))
        row = result.mappings().first()
        return dict(row) if row is not None else None

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        result = await self._conn.execute(text(sql), dict(params or {}))
        return [dict(row) for row in result.mappings().all()]


class MysqlDatabase:
    """The `Database` port on MariaDB: one pooled connection per transaction.

    Isolation is READ COMMITTED, not InnoDB's default REPEATABLE READ. The services never rely on a
    snapshot: they change state with conditional updates (`... WHERE stock >= :n`, checked through the
    rowcount), `INSERT IGNORE` on unique keys, and `SELECT ... FOR UPDATE` (kernel.db.for_update) for
    read-modify-write. Under READ COMMITTED each statement sees the latest committed rows and InnoDB
    takes no gap locks, so concurrent inserts into the outbox/inbox and range updates deadlock far
    less; a conditional UPDATE that waited on a row lock re-reads the committed row before deciding.

    Rowcount: MariaDB itself reports *changed* rows (`UPDATE t SET v = v` → 0). SQLAlchemy's asyncmy
    dialect connects with CLIENT_FOUND_ROWS, so `execute` returns *matched* rows, as SQLite does; use
    `WHERE` conditions, not "did the value change", to detect whether an update took effect.
    `INSERT IGNORE` of a duplicate returns 0, of a new row 1, on both databases.

    Pool: each transaction holds one connection from BEGIN to COMMIT; a service needs roughly as many
    as it runs transactions concurrently (HTTP requests + consumer partitions + relay). Past
    `pool_size + max_overflow`, `transaction()` waits up to `pool_timeout` seconds, then raises.
    Deadlocks (1213) and lock-wait timeouts (1205) surface as exceptions; consumers retry them.

    Statements go through `text()`: a literal colon followed by a word inside SQL (`'{"a":1}'`)
    would be read as a parameter — pass such values as parameters.
    """

    dialect = "mysql"

    def __init__(
        self,
        url: str | URL,
        pool_size: int = 10,
        max_overflow: int = 10,
        pool_timeout: float = 10.0,
        pool_recycle: int = 1800,
        pre_ping: bool = True,
        connect_timeout: int = 5,
        echo: bool = False,
    ) -> None:
        _quiet_driver_warnings()
        parsed = make_url(url)
        self.url = parsed.render_as_string(hide_password=True)
        connect_args: dict[str, Any] = {"connect_timeout": connect_timeout}
        self._engine: AsyncEngine = create_async_engine(
            parsed,
            isolation_level="READ COMMITTED",
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            # Below MariaDB's wait_timeout (8 h) and any proxy's idle cut-off.
            pool_recycle=pool_recycle,
            # One COM_PING per checkout (~0.1 ms locally; no measurable cost in `market bench`) so a
            # MariaDB restart costs no failed request; a connection lost mid-transaction is Unavailable.
            pool_pre_ping=pre_ping,
            connect_args=connect_args,
            echo=echo,
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MysqlTx]:
        # engine.begin(): BEGIN on checkout, COMMIT on a normal exit, ROLLBACK on any exception.
        # A connection interrupted mid-statement (task cancelled) is invalidated, not reused.
        try:
            async with self._engine.begin() as conn:
                yield MysqlTx(conn)
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise Unavailable("database") from exc
            raise

    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self._engine.dispose()
