"""The MariaDB adapter's pool, on fake connections: warm connections reused, a bounded number open, a full
pool answered with Unavailable in bounded time, and dead or old connections never handed out again."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from market.infra.mysql_pool import ConnectionPool
from market.kernel.errors import Unavailable


class FakeConnection:
    def __init__(self, n: int) -> None:
        self.n = n
        self.open = True

    def cursor(self, cursor_class: type[Any]) -> object:
        return object()

    def close(self) -> None:
        self.open = False

    async def ensure_closed(self) -> None:
        self.open = False


class FakeServer:
    def __init__(self) -> None:
        self.opened: list[FakeConnection] = []
        self.down = False

    async def connect(self) -> Any:
        if self.down:
            raise ConnectionRefusedError("connection refused")
        self.opened.append(FakeConnection(len(self.opened)))
        return self.opened[-1]

    def still_open(self) -> list[int]:
        return [c.n for c in self.opened if c.open]


def pool(server: FakeServer, size: int = 2, overflow: int = 1, timeout: float = 5, recycle: float = 1800):
    return ConnectionPool(server.connect, size, overflow, timeout, recycle)


async def test_a_quiet_pool_keeps_pool_size_warm_connections_and_hands_out_the_latest_first() -> None:
    server = FakeServer()
    connections = pool(server, size=2, overflow=1)
    taken = [await connections.acquire() for _ in range(3)]
    for pooled in taken:
        await connections.release(pooled, reuse=True)
    assert server.still_open() == [0, 1]  # the third, past pool_size, was closed
    assert (await connections.acquire()).conn.n == 1
    assert len(server.opened) == 3


async def test_a_full_pool_waits_for_a_release_then_answers_unavailable() -> None:
    server = FakeServer()
    connections = pool(server, size=1, overflow=0, timeout=0.2)
    held = await connections.acquire()

    async def finish() -> None:
        await asyncio.sleep(0.05)
        await connections.release(held, reuse=True)

    freeing = asyncio.create_task(finish())
    assert (await connections.acquire()).conn is held.conn  # freed within the wait
    await freeing
    started = time.monotonic()
    with pytest.raises(Unavailable):
        await connections.acquire()
    assert 0.15 < time.monotonic() - started < 1
    assert len(server.opened) == 1


async def test_a_connection_in_an_unknown_state_is_closed_not_reused() -> None:
    server = FakeServer()
    connections = pool(server)
    await connections.release(await connections.acquire(), reuse=False)
    assert server.still_open() == []
    assert (await connections.acquire()).conn.n == 1


async def test_a_connection_older_than_pool_recycle_is_replaced() -> None:
    server = FakeServer()
    connections = pool(server, recycle=0.05)
    await connections.release(await connections.acquire(), reuse=True)
    await asyncio.sleep(0.06)
    assert (await connections.acquire()).conn.n == 1
    assert server.still_open() == [1]


async def test_after_a_lost_connection_none_opened_before_it_is_reused() -> None:
    server = FakeServer()
    connections = pool(server)
    idle, busy = await connections.acquire(), await connections.acquire()
    await connections.release(idle, reuse=True)
    connections.invalidate()  # a lost connection: the server may have restarted, the others are dead too
    await connections.release(busy, reuse=True)
    assert (await connections.acquire()).conn.n == 2
    assert server.still_open() == [2]


async def test_a_server_that_cannot_be_reached_is_unavailable_and_holds_no_slot() -> None:
    server = FakeServer()
    server.down = True
    connections = pool(server, size=1, overflow=0, timeout=0.1)
    for _ in range(2):
        with pytest.raises(Unavailable):
            await connections.acquire()
    server.down = False
    await connections.release(await connections.acquire(), reuse=True)
    await connections.close()
    assert server.still_open() == []
