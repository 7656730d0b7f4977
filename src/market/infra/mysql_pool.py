"""The connections of one MysqlDatabase: a bounded LIFO pool of asyncmy connections, and what a failure
says about a connection.

At most `size + overflow` connections are open (checked out + idle); up to `size` idle ones are kept, the
most recently used first, so a quiet service settles on few warm connections. A connection older than
`recycle` seconds is closed instead of reused. `invalidate()` retires every connection opened so far:
one lost connection usually means the server restarted, and then all the others are dead too.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asyncmy import Connection
from asyncmy.cursors import DictCursor
from asyncmy.errors import InterfaceError, MySQLError, OperationalError

from market.kernel.errors import Unavailable

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
# (an expected outcome): a pool sets it to ERROR, unless a level was set on purpose elsewhere.
_driver_log = logging.getLogger("asyncmy")


class _Cursor(DictCursor):
    async def _show_warnings(self, conn: Any) -> None:
        # asyncmy asks the server for a statement's warnings (one more round trip) only to log them.
        if _driver_log.isEnabledFor(logging.WARNING):
            await super()._show_warnings(conn)  # type: ignore[misc]  # not in asyncmy's stubs


class Pooled:
    """One open connection, with what the pool needs to know about it."""

    __slots__ = ("born", "conn", "cursor", "generation")

    def __init__(self, conn: Connection, generation: int) -> None:
        self.conn = conn
        self.cursor = conn.cursor(_Cursor)  # rows as dicts; reused by each transaction on this connection
        self.born = time.monotonic()
        self.generation = generation


class ConnectionPool:
    def __init__(
        self,
        connect: Callable[[], Awaitable[Connection]],
        size: int,
        overflow: int,
        timeout: float,
        recycle: float,
    ) -> None:
        if _driver_log.level == logging.NOTSET:
            _driver_log.setLevel(logging.ERROR)
        self._connect = connect
        self._size, self._limit = size, size + overflow
        self._timeout = timeout
        self._recycle = recycle if recycle > 0 else math.inf
        self._slots = asyncio.Semaphore(self._limit)  # one per checked-out connection
        self._idle: list[Pooled] = []
        self._generation = 0
        self._closed = False

    async def acquire(self) -> Pooled:
        """A connection for one transaction; past the limit, waits up to `timeout` s, then Unavailable."""
        if self._slots.locked():
            try:
                async with asyncio.timeout(self._timeout):
                    await self._slots.acquire()
            except TimeoutError:
                busy = TimeoutError(f"all {self._limit} connections stayed busy for {self._timeout:g} s")
                raise Unavailable("database") from busy
        else:
            await self._slots.acquire()  # returns at once: a slot is free
        try:
            return await self._checkout()
        except BaseException:
            self._slots.release()
            raise

    async def replace(self, lost: Pooled) -> Pooled:
        """A fresh connection in place of `lost` (closed), in the same slot; the caller still releases it."""
        lost.conn.close()
        self.invalidate()
        return await self._checkout()

    async def release(self, pooled: Pooled, reuse: bool) -> None:
        """Back to the pool if `reuse` and still wanted, else closed: at once when its state is unknown."""
        try:
            if not reuse:
                pooled.conn.close()  # drops the socket; the server rolls back what was open
            elif not self._closed and len(self._idle) < self._size and self._fresh(pooled, time.monotonic()):
                self._idle.append(pooled)
            else:
                await _quit(pooled.conn)
        finally:
            self._slots.release()

    def invalidate(self) -> None:
        self._generation += 1

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_quit(p.conn) for p in idle))

    async def _checkout(self) -> Pooled:
        now = time.monotonic()
        while self._idle:
            pooled = self._idle.pop()
            if self._fresh(pooled, now):
                return pooled
            await _quit(pooled.conn)
        try:
            conn = await self._connect()
        except (MySQLError, OSError) as exc:
            raise Unavailable("database") from exc
        return Pooled(conn, self._generation)

    def _fresh(self, pooled: Pooled, now: float) -> bool:
        return pooled.generation == self._generation and now - pooled.born < self._recycle


async def _quit(conn: Connection) -> None:
    # COM_QUIT, as a client that leaves on purpose; a peer already gone is fine.
    try:
        await conn.ensure_closed()
    except Exception:
        conn.close()
