"""The SQL backends every repository contract runs on: SQLite (a temp file) and MariaDB (skipped without it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from market.infra.sqlite import SqliteDatabase
from market.kernel.db import Database
from tests.integration.conftest import mysql_database

SQL_BACKENDS = ["sqlite", "mysql"]


@asynccontextmanager
async def sql_database(kind: str, tmp_path: Path, name: str) -> AsyncIterator[Database]:
    if kind == "mysql":
        async with mysql_database() as db:  # a fresh database, dropped afterwards; skips without MariaDB
            yield db
        return
    db = SqliteDatabase(tmp_path / f"{name}.db")
    try:
        yield db
    finally:
        await db.close()
