"""`market migrate`: the services' databases upgraded to their histories' heads (infra.migrations), each under
its migration lock, so that it can run while replicas start (they migrate too, and find nothing to do).

Which databases: `--data-dir DIR` the SQLite files of an embedded deployment; `--distributed` the MariaDB
databases `market_<service>` (through the socket of `market up`'s MariaDB unless MARKET_MYSQL_SOCKET says
otherwise); neither: MariaDB when MARKET_MYSQL_HOST is set (the Helm chart's migration Job), else the data
dir of MARKET_DATA_DIR (default ./data).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from market.bootstrap.topology import mysql_socket
from market.bootstrap.wiring import MIGRATIONS
from market.infra.migrations import History, Migrated, migrate
from market.infra.mysql import service_database
from market.infra.sqlite import SqliteDatabase
from market.kernel.db import Database
from market.pg_sandbox.core import MIGRATIONS as SANDBOX
from market.settings import Settings

# Every history, for `market migrate --new`; the sandbox migrates its own database when it starts.
HISTORIES: dict[str, History] = {**MIGRATIONS, "pg_sandbox": SANDBOX}


def on_mariadb(settings: Settings, asked: bool, data_dir_given: bool) -> bool:
    """Whether `market migrate` means MariaDB: asked for, or MARKET_MYSQL_HOST set and no data dir given."""
    return asked or (not data_dir_given and "mysql_host" in settings.model_fields_set)


def migrate_deployment(
    settings: Settings, on_mariadb: bool, services: Sequence[str] = tuple(MIGRATIONS)
) -> str:
    """Upgrade each service's database of the deployment `settings` name; what was done, one line each."""
    if on_mariadb:
        settings = settings.model_copy(update={"mysql_socket": mysql_socket(settings)})
    return "\n".join(migrated.summary() for migrated in asyncio.run(_each(settings, on_mariadb, services)))


async def _each(settings: Settings, on_mariadb: bool, services: Sequence[str]) -> list[Migrated]:
    done = []
    for name in services:
        db: Database
        if on_mariadb:
            db = service_database(settings, name, pool_size=1)
        else:
            db = SqliteDatabase(settings.data_dir / f"{name}.db")
        try:
            done.append(await migrate(db, MIGRATIONS[name]))
        finally:
            await db.close()
    return done
