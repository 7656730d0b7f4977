"""The distributed mode's database: MariaDB/MySQL through asyncmy and asyncmy's own connection pool.

The services' repositories write plain SQL with `:name` parameters (see market.kernel.db), and the same
statements run on SQLite in the embedded mode. Each distinct statement is translated once to asyncmy's
`%(name)s` style, by SQLAlchemy `text()`'s rule for what is a parameter; no SQLAlchemy per statement.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Sequence
from contextlib import suppress
from types import TracebackType
from typing import Any

import asyncmy
from asyncmy import Connection
from asyncmy.constants import CLIENT
from asyncmy.cursors import DictCursor
from asyncmy.errors import InterfaceError, MySQLError, OperationalError
from sqlalchemy.engine import URL, make_url

from market.infra.tally import tally
from market.kernel.db import Params, Row
from market.kernel.errors import Unavailable
from market.settings import Settings

_PARAMETER = re.compile(r"(?<![:\w\\]):(\w+)(?![:\w])")  # sqlalchemy TextClause._bind_params_regex
_ESCAPED_COLON = re.compile(r"\\(:\w*)(?![:\w])")  # `\:name` is the text `:name`
# Server gone (2006), lost mid-query (2013, 2055), shutting down (1053), connection killed (1927).
_LOST_CONNECTION = frozenset({2006, 2013, 2055, 1053, 1927})


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` says the connection to the server is gone (rather than a statement refused)."""
    if isinstance(exc, InterfaceError | ConnectionError | EOFError):
        return True
    return isinstance(exc, OperationalError) and bool(exc.args) and exc.args[0] in _LOST_CONNECTION


def server_refused(exc: BaseException) -> bool:
    """Whether `exc` is the server's error reply (deadlock 1213, duplicate key 1062, ...): the reply is
    complete, so the connection is still in step. Client-side codes are 2000-2999."""
    code = exc.args[0] if isinstance(exc, MySQLError) and exc.args else None
    return isinstance(code, int) and code > 0 and not 2000 <= code < 3000


# asyncmy logs every server warning at WARNING level, e.g. each duplicate an inbox's INSERT IGNORE skips
# (an expected outcome): the database sets it to ERROR, unless a level was set on purpose elsewhere.
_driver_log = logging.getLogger("asyncmy")


class _Cursor(DictCursor):
    async def _show_warnings(self, conn: Any) -> None:
        # asyncmy asks the server for a statement's warnings (one more round trip) only to log them.
        if _driver_log.isEnabledFor(logging.WARNING):
            await super()._show_warnings(conn)  # type: ignore[misc]  # not in asyncmy's stubs


def create_database_url(
    database: str,
    host: str = "127.0.0.1",
    port: int = 3306,
    user: str = "market",
    password: str = "",
    driver: str = "mysql+asyncmy",
    socket: str = "",
) -> str:
    """A SQLAlchemy URL for one service's database; the password is escaped whatever it contains.

    With `socket` (a unix socket path) the connection goes through it, and host and port are not used.
    """
    url = URL.create(
        driver,
        username=user,
        password=password or None,
        host=host,
        port=port,
        database=database,
        query={"unix_socket": socket} if socket else {},
    )
    return url.render_as_string(hide_password=False)


def service_database(settings: Settings, service: str, pool_size: int | None = None) -> MysqlDatabase:
    """A service's own database (`market_<service>`), where the settings say MariaDB is."""
    s = settings
    url = create_database_url(
        f"market_{service}", s.mysql_host, s.mysql_port, s.mysql_user, s.mysql_password, socket=s.mysql_socket
    )
    return MysqlDatabase(url, pool_size=pool_size or s.mysql_pool_size)


@functools.lru_cache(maxsize=2048)
def pyformat(sql: str) -> str:
    """`:name` → `%(name)s` and a literal `%` → `%%`; `::` and `\\:` are no parameters, as in `text()`."""
    marked = _PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%"))
    return _ESCAPED_COLON.sub(r"\1", marked)


class Pooled:
    """A connection checked out of the pool for one transaction, with the cursor the transaction uses."""

    __slots__ = ("conn", "cursor")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.cursor = conn.cursor(_Cursor)  # rows as dicts


class _Connections:
    """asyncmy's pool, with what a transaction needs of it: a bounded wait for a connection (then
    Unavailable), a connection in an unknown state closed rather than reused, and the idle connections
    dropped when one was found dead (a server restart kills them all)."""

    def __init__(
        self, connect: dict[str, Any], size: int, overflow: int, timeout: float, recycle: int
    ) -> None:
        if _driver_log.level == logging.NOTSET:
            _driver_log.setLevel(logging.ERROR)
        self._connect, self._size, self._limit = connect, size, size + overflow
        self._timeout, self._recycle = timeout, recycle
        self._pool: asyncmy.Pool | None = None
        self.tally = tally(str(connect.get("database")))

    async def acquire(self) -> Pooled:
        if self._pool is None:  # made on first use: a pool belongs to the running loop
            self._pool = await asyncmy.create_pool(
                minsize=0, maxsize=self._limit, pool_recycle=self._recycle, **self._connect
            )
        try:
            async with asyncio.timeout(self._timeout):
                conn = await self._pool.acquire()
        except TimeoutError:
            busy = TimeoutError(f"all {self._limit} connections stayed busy for {self._timeout:g} s")
            raise Unavailable("database") from busy
        except OSError as exc:
            raise Unavailable("database") from exc
        return Pooled(conn)

    async def replace(self, lost: Pooled) -> Pooled:
        """A fresh connection in place of `lost`, which is closed."""
        await self.release(lost, reuse=False)
        self.invalidate()
        return await self.acquire()

    async def release(self, pooled: Pooled, reuse: bool) -> None:
        if not reuse:
            pooled.conn.close()  # drops the socket; the server rolls back what was open
        if self._pool is not None:
            self._pool.release(pooled.conn)

    def invalidate(self) -> None:
        if self._pool is not None:
            asyncio.get_running_loop().create_task(self._pool.clear())

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            await self._pool.wait_closed()


class MysqlTx:
    """One transaction on one pooled connection.

    `write` statements wait in the transaction and travel in one round trip with the next statement, or
    with the COMMIT (the connection sends several statements at once; the server runs them in order and
    stops at the first error). Each is rendered with its own parameters by the driver's escaping.
    """

    dialect = "mysql"

    def __init__(self, pool: _Connections, pooled: Pooled, retry: bool) -> None:
        self._pool = pool
        self.pooled = pooled
        self.used = False  # a statement was sent: the transaction ends with COMMIT or ROLLBACK
        self.broken = False  # the connection's state is unknown: closed, never reused
        self._retry = retry  # until the first statement has run
        self._writes: list[str] = []  # rendered `write` statements not sent yet
        self._sent = 0  # how many times waiting writes were sent: a savepoint's mark is (this, index)
        self._marks: dict[str, tuple[int, int]] = {}

    async def execute(self, sql: str, params: Params | None = None) -> int:
        return int((await self._run(sql, _args(params))).rowcount)

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if rows:
            await self._flush()
            await self._run(sql, [_args(r) for r in rows], many=True)

    async def write(self, sql: str, params: Params | None = None) -> None:
        self._writes.append(self.pooled.cursor.mogrify(pyformat(sql), _args(params)))

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        row: Row | None = await (await self._run(sql, _args(params))).fetchone()
        return row

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        return list(await (await self._run(sql, _args(params))).fetchall())

    async def savepoint(self, name: str) -> None:
        # Travels with the next statement, like a write; until then it can be taken back for free.
        self._marks[name] = (self._sent, len(self._writes))
        self._writes.append(f"SAVEPOINT {name}")

    async def release(self, name: str) -> None:
        if self._unsent(name) == len(self._writes) - 1:
            self._writes.pop()  # nothing since the savepoint: neither needs to reach the server
        elif self._writes:
            # Sent now, with the writes since the savepoint: an error of theirs raises here, not later.
            await self.execute(f"RELEASE SAVEPOINT {name}")
        else:
            self._writes.append(f"RELEASE SAVEPOINT {name}")
        del self._marks[name]

    async def rollback_to(self, name: str) -> None:
        at = self._unsent(name)
        if at is not None:
            del self._writes[at:]  # the savepoint and what followed it never reached the server
        else:
            self._writes.clear()  # written after the savepoint, which was sent
            await self.execute(f"ROLLBACK TO SAVEPOINT {name}")
        del self._marks[name]

    def _unsent(self, name: str) -> int | None:
        """Where the savepoint waits among the writes not sent yet, or None once it was sent."""
        sent, at = self._marks[name]
        return at if sent == self._sent else None

    async def end(self, verb: str) -> None:
        """COMMIT (with the writes still waiting) or ROLLBACK (the waiting writes are dropped)."""
        if verb == "COMMIT" and self._writes:
            if not self._retry:
                # The writes and the COMMIT in one round trip. Never sent again: once a COMMIT may have
                # run, a lost connection leaves the outcome unknown, as for any COMMIT.
                self._writes.append("COMMIT")
                self._pool.tally.commits += 1
                await self._flush()
                return
            # Nothing sent yet: the writes go alone, so `_send` may still replace a dead pooled
            # connection and send them again on a fresh one; the COMMIT follows on its own.
            await self._flush()
        self._writes.clear()
        if verb == "COMMIT":
            self._pool.tally.commits += 1
        try:
            await (self.pooled.conn.commit() if verb == "COMMIT" else self.pooled.conn.rollback())
        except BaseException as exc:
            self.broken = self.broken or not server_refused(exc)
            raise

    @property
    def pending(self) -> bool:
        """Whether anything was sent or waits to be: the transaction must end with COMMIT or ROLLBACK."""
        return self.used or bool(self._writes)

    async def _flush(self) -> None:
        if self._writes:
            await self._send(self._take_writes(), None, multi=True)

    def _take_writes(self, then: str = "") -> str:
        statements = [*self._writes, then] if then else self._writes
        self._writes = []
        self._sent += 1
        return ";\n".join(statements)

    async def _run(self, sql: str, args: Any, many: bool = False) -> Any:
        query = pyformat(sql)
        if self._writes:
            # The waiting writes go first, in the same round trip; the cursor ends on this statement's result.
            query = self._take_writes(self.pooled.cursor.mogrify(query, args))
            return await self._send(query, None, multi=True)
        return await self._send(query, args, many=many)

    async def _send(self, query: str, args: Any, many: bool = False, multi: bool = False) -> Any:
        self._pool.tally.statements += query.count(";\n") + 1
        cursor = self.pooled.cursor
        self.used = True
        try:
            await (cursor.executemany(query, args) if many else cursor.execute(query, args))
            while multi and await cursor.nextset():  # read every result; the first error raises
                pass
        except BaseException as exc:
            if not (self._retry and connection_lost(exc)):
                self._retry = False
                self.broken = self.broken or not server_refused(exc)
                raise
            # The first statement found its connection dead (a server restart, an idle connection cut):
            # nothing was done in this transaction yet, so it runs again, once, on a fresh connection.
            self._retry, self.broken = False, True
            self.pooled = await self._pool.replace(self.pooled)
            self.broken = False
            return await self._send(query, args, many, multi)
        self._retry = False
        return cursor


def _args(params: Params | None) -> dict[str, Any]:
    # Always a dict, even empty: asyncmy only turns `%%` back into `%` when it formats.
    return params if type(params) is dict else dict(params or {})


class MysqlDatabase:
    """The `Database` port on MariaDB: one pooled connection per transaction.

    Isolation is READ COMMITTED, not InnoDB's default REPEATABLE READ. The services never rely on a
    snapshot: they change state with conditional updates (`... WHERE stock >= :n`, checked through the
    rowcount), `INSERT IGNORE` on unique keys, and `SELECT ... FOR UPDATE` (kernel.db.for_update) for
    read-modify-write. Under READ COMMITTED each statement sees the latest committed rows and InnoDB
    takes no gap locks, so concurrent inserts into the outbox/inbox and range updates deadlock far
    less; a conditional UPDATE that waited on a row lock re-reads the committed row before deciding.

    Rowcount: MariaDB itself reports *changed* rows (`UPDATE t SET v = v` → 0). The connections are
    opened with CLIENT_FOUND_ROWS, so `execute` returns *matched* rows, as SQLite does; use `WHERE`
    conditions, not "did the value change", to detect whether an update took effect.
    `INSERT IGNORE` of a duplicate returns 0, of a new row 1, on both databases.

    Transactions: autocommit is off, so the first statement opens the transaction on the server; a
    normal exit COMMITs, an exception ROLLBACKs. Rows are dicts of the driver's values. A transaction
    cancelled or failed mid-statement closes its connection (the server rolls back) instead of
    returning it in an unknown state. A connection lost mid-transaction raises Unavailable("database")
    and retires every pooled connection; with `pre_ping`, a *first* statement that finds its connection
    dead runs again on a fresh one, so a MariaDB restart costs no failed request once it is back.
    Deadlocks (1213) and lock-wait timeouts (1205) surface as asyncmy errors; consumers retry them.

    Pool (asyncmy's): each transaction holds one connection from its first statement to COMMIT; a service
    needs roughly as many as it runs transactions concurrently (HTTP requests + consumers + relay). Past
    `pool_size + max_overflow`, `transaction()` waits up to `pool_timeout` seconds, then raises
    Unavailable("database").

    Parameters follow `text()`: a literal colon followed by a word inside SQL (`'{"a":1}'`) would be
    read as a parameter — pass such values as parameters.
    """

    dialect = "mysql"

    def __init__(
        self,
        url: str | URL,
        pool_size: int = 10,
        max_overflow: int = 10,
        pool_timeout: float = 10.0,
        pool_recycle: int = 1800,  # below MariaDB's wait_timeout (8 h) and any proxy's idle cut-off
        pre_ping: bool = True,
        connect_timeout: int = 5,
    ) -> None:
        parsed = make_url(url)
        options = dict(parsed.query)
        socket = options.pop("unix_socket", None)
        if options or not isinstance(socket, str | None):
            raise ValueError(f"MysqlDatabase takes one URL option, unix_socket; got {dict(parsed.query)}")
        self.url = parsed.render_as_string(hide_password=True)
        # The same database for a SQLAlchemy engine: Alembic migrates through one (infra.migrations).
        self.engine_url = parsed.set(drivername="mysql+asyncmy")
        self._retry = pre_ping
        connect = dict(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 3306,
            unix_socket=socket,
            user=parsed.username,
            password=parsed.password or "",
            database=parsed.database,
            connect_timeout=connect_timeout,
            init_command="SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
            client_flag=CLIENT.FOUND_ROWS | CLIENT.MULTI_STATEMENTS,
            autocommit=False,
        )
        self._pool = _Connections(connect, pool_size, max_overflow, pool_timeout, pool_recycle)

    def transaction(self) -> _Transaction:
        return _Transaction(self._pool, self._retry)

    async def ping(self) -> None:
        async with self.transaction() as tx:
            await tx.fetchone("SELECT 1 AS one")

    async def close(self) -> None:
        await self._pool.close()


class _Transaction:
    """`MysqlDatabase.transaction()`: a plain class rather than an `asynccontextmanager`, whose generator
    cost a few microseconds more on every transaction (docs/performance.md)."""

    __slots__ = ("_pool", "_retry", "_tx")

    def __init__(self, pool: _Connections, retry: bool) -> None:
        self._pool = pool
        self._retry = retry

    async def __aenter__(self) -> MysqlTx:
        self._tx = MysqlTx(self._pool, await self._pool.acquire(), self._retry)
        return self._tx

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        tx = self._tx
        if exc is None:
            try:
                if tx.pending:
                    await tx.end("COMMIT")
            except BaseException as failed:
                await self._abandon(tx, failed)
                raise
            await self._pool.release(tx.pooled, True)
            return
        await self._abandon(tx, exc)

    async def _abandon(self, tx: MysqlTx, exc: BaseException) -> None:
        """Roll back after `exc` (the block's or the COMMIT's) and give the connection back; raises
        Unavailable from `exc` when the connection was lost, else returns for `exc` to go on."""
        # A cancellation may have struck anywhere: close rather than guess the protocol's state.
        clean = isinstance(exc, Exception) and not tx.broken
        try:
            if clean and tx.used:
                with suppress(Exception):
                    await tx.end("ROLLBACK")
        finally:
            await self._pool.release(tx.pooled, clean and not tx.broken)
        if connection_lost(exc):
            self._pool.invalidate()
            raise Unavailable("database") from exc
