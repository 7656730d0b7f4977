from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from market.infra.migrations import migrate
from market.infra.sqlite import SqliteDatabase
from market.pg_sandbox.core import MIGRATIONS


@pytest.fixture
async def sandbox_db(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    db = SqliteDatabase(tmp_path / "pg_sandbox.db")
    await migrate(db, MIGRATIONS)
    yield db
    await db.close()
