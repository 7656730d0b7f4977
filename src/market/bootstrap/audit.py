"""Opens a deployment's databases read-only for `market audit`."""

from __future__ import annotations

from market.audit.run import AuditReport, audit
from market.infra.sqlite import SqliteDatabase
from market.kernel.db import Database
from market.settings import Settings

DATABASES = {
    "member": "member.db",
    "product": "product.db",
    "order": "order.db",
    "payment": "payment.db",
    "pg": "pg_sandbox.db",
}


def embedded_databases(settings: Settings) -> dict[str, Database]:
    missing = [f for f in DATABASES.values() if not (settings.data_dir / f).exists()]
    if missing:
        raise SystemExit(f"market audit: no deployment in {settings.data_dir} (missing {', '.join(missing)})")
    return {name: SqliteDatabase(settings.data_dir / f, readonly=True) for name, f in DATABASES.items()}


def mysql_database(settings: Settings, service: str, pool_size: int = 1) -> Database:
    """A service's MariaDB database, for a tool that runs beside the services."""
    from market.infra.mysql import MysqlDatabase, create_database_url

    s = settings
    url = create_database_url(
        f"market_{service}", s.mysql_host, s.mysql_port, s.mysql_user, s.mysql_password, socket=s.mysql_socket
    )
    return MysqlDatabase(url, pool_size=pool_size)


def distributed_databases(settings: Settings) -> dict[str, Database]:
    dbs = {name: mysql_database(settings, name) for name in ("member", "product", "order", "payment")}
    dbs["pg"] = SqliteDatabase(settings.state_dir / "pg_sandbox.db", readonly=True)
    return dbs


async def run_audit(settings: Settings, wait_seconds: float, distributed: bool = False) -> AuditReport:
    dbs = distributed_databases(settings) if distributed else embedded_databases(settings)
    try:
        return await audit(dbs, wait_seconds)
    finally:
        for db in dbs.values():
            await db.close()
