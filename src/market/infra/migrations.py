"""Versioned schema migrations, per service database, for SQLite and MariaDB alike.

A migration is DDL with a few dialect tokens, or a mapping from dialect to DDL for a change that only one
dialect needs (the others get "": nothing to do, but the version is recorded all the same); each applied
version is recorded in `schema_migrations`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from market.kernel.db import Database

_TOKENS = {
    "sqlite": {"SERIAL_PK": "INTEGER PRIMARY KEY AUTOINCREMENT", "LONGTEXT": "TEXT"},
    "mysql": {"SERIAL_PK": "BIGINT AUTO_INCREMENT PRIMARY KEY", "LONGTEXT": "MEDIUMTEXT"},
}

OUTBOX_INBOX = """
CREATE TABLE outbox (
    seq SERIAL_PK,
    event_id VARCHAR(36) NOT NULL,
    topic VARCHAR(64) NOT NULL,
    body LONGTEXT NOT NULL,
    created_at VARCHAR(32) NOT NULL
);
CREATE TABLE inbox (
    event_id VARCHAR(36) PRIMARY KEY,
    event_type VARCHAR(40) NOT NULL,
    order_id VARCHAR(64) NOT NULL
)
"""


Migration = str | Mapping[str, str]


# The W3C traceparent of the context that wrote the event (infra.tracing): its consumers continue the trace.
OUTBOX_TRACE = "ALTER TABLE outbox ADD COLUMN traceparent VARCHAR(64) NULL"


def render(dialect: str, migration: Migration) -> list[str]:
    ddl = migration if isinstance(migration, str) else migration.get(dialect, "")
    for token, value in _TOKENS[dialect].items():
        ddl = ddl.replace(token, value)
    return [stmt.strip() for stmt in ddl.split(";") if stmt.strip()]


async def migrate(db: Database, migrations: Sequence[Migration]) -> int:
    """Apply the migrations not yet applied; the number applied."""
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
        row = await tx.fetchone("SELECT MAX(version) AS v FROM schema_migrations")
    current = (row or {}).get("v") or 0
    applied = 0
    for version, ddl in enumerate(migrations, start=1):
        if version <= current:
            continue
        # MariaDB commits DDL implicitly; recording the version last keeps a half-run migration visible.
        async with db.transaction() as tx:
            for stmt in render(db.dialect, ddl):
                await tx.execute(stmt)
            await tx.execute("INSERT INTO schema_migrations (version) VALUES (:v)", {"v": version})
        applied += 1
    return applied
