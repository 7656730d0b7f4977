"""A committed order or payment survives a power cut: their SQLite files sync at every COMMIT."""

from __future__ import annotations

from pathlib import Path

from market.bootstrap.embedded import build
from market.settings import Settings

FULL, NORMAL = 2, 1  # PRAGMA synchronous's answers


async def test_the_order_and_payment_databases_sync_every_commit(tmp_path: Path) -> None:
    embedded = build(Settings(data_dir=tmp_path))
    try:
        synchronous = {
            name: db.conn.execute("PRAGMA synchronous").fetchone()["synchronous"]
            for name, db in embedded.adapters.dbs.items()
        }
    finally:
        for db in embedded.adapters.dbs.values():
            await db.close()
    assert synchronous["order"] == FULL and synchronous["payment"] == FULL
    assert synchronous["member"] == NORMAL  # the others keep WAL's NORMAL
