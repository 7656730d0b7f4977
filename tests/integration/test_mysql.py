"""MariaDB behaviour the adapter relies on: a cancelled transaction rolls back and frees its connection, a
full pool answers Unavailable, lost connections cost no failed transaction once the server is back, and
transactions waiting for a row lock leave the server's threads to the others."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from market.infra.mysql import MysqlDatabase, MysqlTx, create_database_url
from market.kernel.errors import Unavailable
from tests.integration.conftest import MYSQL_ENV, mysql_database, mysql_socket_url


async def test_a_cancelled_transaction_rolls_back_and_the_pool_keeps_serving() -> None:
    # What KafkaSubscriber.stop() does to a handler that outlives its grace.
    async with mysql_database(pool_size=2, max_overflow=0, pool_timeout=5) as db:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE stock (id INT PRIMARY KEY, qty BIGINT NOT NULL)")
            await tx.execute("INSERT INTO stock VALUES (1, 5)")

        async def take_then_stall(in_statement: bool) -> None:
            async with db.transaction() as tx:
                await tx.execute("UPDATE stock SET qty = qty - 1 WHERE id = 1")
                if in_statement:
                    await tx.fetchone("SELECT SLEEP(1) AS s")  # cancelled while the server is busy
                else:
                    await asyncio.Event().wait()  # cancelled between statements

        for in_statement in (False, True, False, True):
            task = asyncio.create_task(take_then_stall(in_statement))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        started = time.monotonic()
        async with db.transaction() as tx:
            # Waits, at most, for the interrupted SLEEP to end: MariaDB then rolls that transaction back.
            assert await tx.execute("UPDATE stock SET qty = qty + 10 WHERE id = 1") == 1
            assert await tx.fetchone("SELECT qty FROM stock WHERE id = 1") == {"qty": 15}
        assert time.monotonic() - started < 3


async def test_a_full_pool_makes_the_next_transaction_wait_then_fail() -> None:
    async with mysql_database(pool_size=1, max_overflow=0, pool_timeout=1) as db:
        release = asyncio.Event()

        async def hold() -> None:
            async with db.transaction() as tx:
                await tx.fetchone("SELECT 1 AS one")
                await release.wait()

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0.1)
        started = time.monotonic()
        with pytest.raises(Unavailable):
            async with db.transaction():
                pass
        assert 0.9 < time.monotonic() - started < 3
        release.set()
        await holder
        await db.ping()


def test_the_url_helper_escapes_the_password() -> None:
    url = create_database_url("market_order", port=3307, password="p@ss:w/rd")
    assert url == "mysql+asyncmy://market:p%40ss%3Aw%2Frd@127.0.0.1:3307/market_order"
    assert MysqlDatabase(url).url == "mysql+asyncmy://market:***@127.0.0.1:3307/market_order"


def test_a_url_takes_a_unix_socket_and_no_other_option() -> None:
    url = create_database_url("market_order", password="pw", socket="/run/my sql/mysqld.sock")
    assert make_url(url).query == {"unix_socket": "/run/my sql/mysqld.sock"}
    MysqlDatabase(url)
    with pytest.raises(ValueError, match="unix_socket"):
        MysqlDatabase(url + "&charset=latin1")


async def _client_host(db: MysqlDatabase) -> str:
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT HOST AS host FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()"
        )
    assert row is not None
    return str(row["host"])


async def test_a_socket_url_reaches_mariadb_through_its_unix_socket() -> None:
    # What `market up` gives the services (MARKET_MYSQL_SOCKET); MariaDB names a socket client "localhost".
    through_socket = MysqlDatabase(mysql_socket_url())
    over_tcp = MysqlDatabase(os.environ[MYSQL_ENV])
    try:
        assert await _client_host(through_socket) == "localhost"
        assert (await _client_host(over_tcp)).startswith("127.0.0.1:")
    finally:
        await through_socket.close()
        await over_tcp.close()


async def test_a_connection_lost_mid_transaction_is_unavailable_and_the_next_transaction_works() -> None:
    async with mysql_database(pool_size=2, max_overflow=0) as db:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE t (id INT PRIMARY KEY)")
        with pytest.raises(Unavailable):
            async with db.transaction() as tx:
                row = await tx.fetchone("SELECT CONNECTION_ID() AS id")
                assert row is not None
                async with db.transaction() as killer:
                    await killer.execute(f"KILL CONNECTION {int(row['id'])}")
                await tx.execute("INSERT INTO t VALUES (1)")
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES (2)")
            assert await tx.fetchall("SELECT id FROM t") == [{"id": 2}]


async def test_pooled_connections_killed_by_the_server_cost_no_failed_transaction() -> None:
    # What a MariaDB restart does to a pool: every idle connection is dead when it is next used.
    async with mysql_database(pool_size=3, max_overflow=0) as db:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE t (id INT PRIMARY KEY)")
        ready, release = asyncio.Event(), asyncio.Event()
        ids: list[int] = []

        async def hold() -> None:  # three transactions at once: three pooled connections
            async with db.transaction() as tx:
                row = await tx.fetchone("SELECT CONNECTION_ID() AS id")
                assert row is not None
                ids.append(int(row["id"]))
                if len(ids) == 3:
                    ready.set()
                await release.wait()

        holders = [asyncio.create_task(hold()) for _ in range(3)]
        await ready.wait()
        release.set()
        await asyncio.gather(*holders)
        other = MysqlDatabase(os.environ[MYSQL_ENV], pool_size=1, max_overflow=0)
        async with other.transaction() as killer:
            for id_ in ids:
                await killer.execute(f"KILL CONNECTION {id_}")
        await other.close()
        for n in range(4):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO t VALUES (:n)", {"n": n})
        async with db.transaction() as tx:
            assert await tx.fetchall("SELECT id FROM t ORDER BY id") == [{"id": n} for n in range(4)]


async def test_transactions_waiting_for_a_row_lock_leave_the_server_to_the_others() -> None:
    # Our MariaDB runs a pool of as many threads as CPUs (deploy/mariadb/my.cnf.template), not a thread per
    # connection: a statement waiting for a row lock must give its thread to other connections, or a hot
    # row (a product's stock, a member's points) would stall every service until the lock is released.
    async with mysql_database(pool_size=4, max_overflow=200) as db:  # a connection per waiter, however many
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE counters (id INT PRIMARY KEY, v INT NOT NULL)")
            await tx.execute("INSERT INTO counters VALUES (1, 0), (2, 0)")
            threads = await tx.fetchone("SELECT @@thread_handling AS handling, @@thread_pool_size AS size")
        assert threads is not None
        waiters = 4 * int(threads["size"]) if threads["handling"] == "pool-of-threads" else 8
        locked, others_done = asyncio.Event(), asyncio.Event()

        async def hold_row_1() -> None:
            async with db.transaction() as tx:
                await tx.fetchone("SELECT v FROM counters WHERE id = 1 FOR UPDATE")
                locked.set()
                # The lock is held until the other row's transaction is done: it must not need this one.
                async with asyncio.timeout(20):
                    await others_done.wait()

        async def wait_for_row_1() -> None:
            async with db.transaction() as tx:
                assert await tx.execute("UPDATE counters SET v = v + 1 WHERE id = 1") == 1

        holder = asyncio.create_task(hold_row_1())
        await locked.wait()
        waiting = [asyncio.create_task(wait_for_row_1()) for _ in range(waiters)]
        blocked = None
        for _ in range(100):  # until every waiter's UPDATE is in the server, blocked on the lock
            async with db.transaction() as tx:
                blocked = await tx.fetchone(
                    "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST "
                    "WHERE COMMAND = 'Query' AND INFO LIKE 'UPDATE counters SET v = v + 1 WHERE id = 1%'"
                )
            if blocked is not None and blocked["n"] == waiters:
                break
            await asyncio.sleep(0.05)
        assert blocked == {"n": waiters}
        async with db.transaction() as tx:
            assert await tx.execute("UPDATE counters SET v = v + 1 WHERE id = 2") == 1
        others_done.set()
        await holder
        await asyncio.gather(*waiting)
        async with db.transaction() as tx:
            rows = await tx.fetchall("SELECT id, v FROM counters ORDER BY id")
        assert rows == [{"id": 1, "v": waiters}, {"id": 2, "v": 1}]


async def test_writes_travel_with_the_next_statement_or_the_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    send = MysqlTx._send

    async def counted(self: MysqlTx, query: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(query)
        return await send(self, query, *args, **kwargs)

    async with mysql_database() as db:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE t (id INT PRIMARY KEY, note TEXT)")
        monkeypatch.setattr(MysqlTx, "_send", counted)
        async with db.transaction() as tx:
            assert await tx.execute("UPDATE t SET note = 'x' WHERE id = 0") == 0
            await tx.write("INSERT INTO t VALUES (1, :note)", {"note": "a ; b -- 'c' 100%"})
            await tx.write("INSERT INTO t VALUES (2, NULL)")
        # One round trip for the UPDATE, one for both writes and the COMMIT.
        assert len(sent) == 2 and sent[1].endswith("COMMIT")
        sent.clear()
        async with db.transaction() as tx:
            await tx.write("DELETE FROM t WHERE id = 2")
            rows = await tx.fetchall("SELECT id, note FROM t ORDER BY id")
        assert rows == [{"id": 1, "note": "a ; b -- 'c' 100%"}]
        # The DELETE travelled with the SELECT; the COMMIT followed on its own (`conn.commit`, not counted).
        assert len(sent) == 1
        async with db.transaction() as tx:
            assert await tx.fetchall("SELECT id FROM t") == [{"id": 1}]


async def test_writes_on_a_connection_killed_while_pooled_are_sent_again_and_kept_once() -> None:
    # A transaction of writes only, on a pooled connection the server has killed (a MariaDB restart): the
    # writes go first, alone, so they are sent again on a fresh connection; the COMMIT follows.
    async with mysql_database(pool_size=1, max_overflow=0) as db:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE t (id INT PRIMARY KEY)")
            row = await tx.fetchone("SELECT CONNECTION_ID() AS id")
        assert row is not None
        other = MysqlDatabase(os.environ[MYSQL_ENV], pool_size=1, max_overflow=0)
        async with other.transaction() as killer:
            await killer.execute(f"KILL CONNECTION {int(row['id'])}")
        await other.close()
        async with db.transaction() as tx:
            await tx.write("INSERT INTO t VALUES (1)")
            await tx.write("INSERT INTO t VALUES (2)")
        async with db.transaction() as tx:
            assert await tx.fetchall("SELECT id FROM t ORDER BY id") == [{"id": 1}, {"id": 2}]
