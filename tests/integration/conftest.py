"""Real MariaDB and Kafka for the contract and integration tests, or a skip that says what is missing.

Environment:
  MARKET_TEST_MYSQL_URL        e.g. mysql+asyncmy://market:market@127.0.0.1:3306/market_order; its user
                               must be allowed to create and drop databases named market_test_* (the
                               `market` user of scripts/infra/mariadb.sh is). Each test gets a fresh one.
  MARKET_TEST_MYSQL_SOCKET     the same server's unix socket (scripts/infra/mariadb.sh: mariadb/mysqld.sock).
  MARKET_TEST_KAFKA_BOOTSTRAP  e.g. 127.0.0.1:9092 (scripts/infra/kafka.sh); the topics are created if missing.
  MARKET_TEST_REQUIRE_SERVERS  =1: fail instead of skipping when a server is not set or not reachable (CI).

Contract tests elsewhere use the context managers below directly (`mysql_database`, `kafka_bootstrap`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, NoReturn

import pytest
from sqlalchemy.engine import make_url

from market import platform
from market.infra.kafka import ensure_topics
from market.infra.mysql import MysqlDatabase

MYSQL_ENV = "MARKET_TEST_MYSQL_URL"
SOCKET_ENV = "MARKET_TEST_MYSQL_SOCKET"
KAFKA_ENV = "MARKET_TEST_KAFKA_BOOTSTRAP"
_unreachable: dict[str, str] = {}  # a server found down is not probed again by every test


def _missing(reason: str) -> NoReturn:
    if os.environ.get("MARKET_TEST_REQUIRE_SERVERS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@asynccontextmanager
async def mysql_database(**options: Any) -> AsyncIterator[MysqlDatabase]:
    """A MysqlDatabase on a new, empty database, dropped afterwards; skips when MariaDB is not there."""
    url = os.environ.get(MYSQL_ENV)
    if not url:
        _missing(f"{MYSQL_ENV} is not set (e.g. mysql+asyncmy://market:market@127.0.0.1:3306/market_order)")
    if url in _unreachable:
        _missing(_unreachable[url])
    admin = MysqlDatabase(url, pool_size=1, max_overflow=0, connect_timeout=2)
    name = f"market_test_{uuid.uuid4().hex[:12]}"
    try:
        async with admin.transaction() as tx:
            await tx.execute(f"CREATE DATABASE `{name}`")
    except Exception as exc:
        await admin.close()
        _unreachable[url] = f"MariaDB at {MYSQL_ENV}={make_url(url)!r} unusable: {exc}"
        _missing(_unreachable[url])
    db = MysqlDatabase(make_url(url).set(database=name), **options)
    try:
        yield db
    finally:
        await db.close()
        async with admin.transaction() as tx:
            await tx.execute(f"DROP DATABASE `{name}`")
        await admin.close()


def mysql_socket_url() -> str:
    """MARKET_TEST_MYSQL_URL's server reached through MARKET_TEST_MYSQL_SOCKET; skips when either is unset."""
    url, socket = os.environ.get(MYSQL_ENV), os.environ.get(SOCKET_ENV)
    if not url or not socket:
        _missing(f"{MYSQL_ENV} and {SOCKET_ENV} are not both set")
    return make_url(url).update_query_dict({"unix_socket": socket}).render_as_string(hide_password=False)


_topics_ready: set[str] = set()


async def kafka_bootstrap() -> str:
    """The broker's address, with the platform's topics and their dead letters' present; skips when Kafka is
    not there."""
    bootstrap = os.environ.get(KAFKA_ENV)
    if not bootstrap:
        _missing(f"{KAFKA_ENV} is not set (e.g. 127.0.0.1:9092)")
    if bootstrap in _unreachable:
        _missing(_unreachable[bootstrap])
    if bootstrap not in _topics_ready:
        host, _, port = bootstrap.split(",")[0].rpartition(":")
        try:
            # A quick TCP probe first: the admin client would retry an absent broker for 40 s.
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 2)
            writer.close()
            topics = list(platform.TOPICS)
            await ensure_topics(bootstrap, [*topics, *(f"{t}.dlq" for t in topics)], partitions=4)
        except Exception as exc:
            _unreachable[bootstrap] = f"Kafka at {KAFKA_ENV}={bootstrap} unusable: {exc!r}"
            _missing(_unreachable[bootstrap])
        _topics_ready.add(bootstrap)
    return bootstrap


@pytest.fixture
async def mysql_db() -> AsyncIterator[MysqlDatabase]:
    async with mysql_database() as db:
        yield db


@pytest.fixture
async def kafka() -> str:
    return await kafka_bootstrap()
