"""Opens a deployment's databases read-only for `market audit`."""

from __future__ import annotations

from market import platform
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


def embedded_databases(settings: Settings, readonly: bool = True) -> dict[str, Database]:
    missing = [f for f in DATABASES.values() if not (settings.data_dir / f).exists()]
    if missing:
        raise SystemExit(f"market: no deployment in {settings.data_dir} (missing {', '.join(missing)})")
    files = {**DATABASES, **{s.name: f"{s.name}.db" for s in platform.SERVICES}}
    return {
        name: SqliteDatabase(settings.data_dir / f, readonly=readonly)
        for name, f in files.items()
        if (settings.data_dir / f).exists()
    }


def distributed_databases(settings: Settings) -> dict[str, Database]:
    from market.infra.mysql import service_database

    dbs: dict[str, Database] = {s.name: service_database(settings, s.name, 1) for s in platform.SERVICES}
    dbs["pg"] = SqliteDatabase(settings.state_dir / "pg_sandbox.db", readonly=True)
    return dbs


async def run_audit(settings: Settings, wait_seconds: float, distributed: bool = False) -> AuditReport:
    dbs = distributed_databases(settings) if distributed else embedded_databases(settings)
    try:
        return await audit(dbs, wait_seconds)
    finally:
        for db in dbs.values():
            await db.close()
