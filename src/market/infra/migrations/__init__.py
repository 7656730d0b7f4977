"""Schema migrations with Alembic: one history per database, on SQLite and MariaDB alike, under a lock.

A history (`History`) is a folder of Alembic revisions, the first one labelled with the history's name:
each service's `adapters/migrations/`, the PG sandbox's `pg_sandbox/migrations/`. Every history shares this
package as its Alembic script directory (`env.py`, the revision template `script.py.mako`); a database
holds one history, its revision in `alembic_version`.

`migrate(db, history)` upgrades `db` to the history's head, under a lock so that two replicas never
migrate one database at once (a second migrator waits, then finds nothing to do):
- MariaDB: `GET_LOCK('market_migrate_<database>')` held by the migrating session (released with it, even
  when the process dies);
- SQLite: the file's write lock, one `BEGIN IMMEDIATE` around the whole upgrade (SQLite's DDL is
  transactional: an upgrade is applied whole or not at all).

A database of the previous mechanism (`schema_migrations` with version N, no `alembic_version`) is adopted
without running its DDL again: stamped at the history's Nth revision, then upgraded.

A revision runs its DDL with `run(ddl)`: the dialect tokens below, or a mapping from dialect to DDL for a
change only one dialect needs. A shipped revision, and the shared DDL here that revisions import, is never
edited: a change is a new revision (docs/runbook.md, "Migrations").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from alembic import command, op
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import URL, Connection, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from market.infra.mysql import MysqlDatabase
from market.infra.sqlite import SqliteDatabase
from market.kernel.db import Database

SCRIPTS = Path(__file__).parent  # env.py and script.py.mako
LOCK_WAIT_SECONDS = 600.0  # as long as the Helm chart's migration Job may run

_TOKENS = {
    "sqlite": {"SERIAL_PK": "INTEGER PRIMARY KEY AUTOINCREMENT", "LONGTEXT": "TEXT"},
    "mysql": {"SERIAL_PK": "BIGINT AUTO_INCREMENT PRIMARY KEY", "LONGTEXT": "MEDIUMTEXT"},
}

Ddl = str | Mapping[str, str]

# Shipped in the histories of the services that produce or consume events: never edited.
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

# The W3C traceparent of the context that wrote the event (infra.tracing): its consumers continue the trace.
OUTBOX_TRACE = "ALTER TABLE outbox ADD COLUMN traceparent VARCHAR(64) NULL"


@dataclass(frozen=True)
class History:
    """One database's migration history: the Alembic revisions in `folder`, the first labelled `name`."""

    name: str
    folder: Path

    def config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(SCRIPTS))
        config.set_main_option("version_locations", str(self.folder))
        config.set_main_option("path_separator", "os")
        return config

    def revisions(self) -> list[str]:
        """Its revision ids, oldest first."""
        script = ScriptDirectory.from_config(self.config())
        return [r.revision for r in script.walk_revisions("base", f"{self.name}@head")][::-1]

    def new_revision(self, message: str) -> Path:
        """A new revision file after the head, numbered on (`<name>_<NNNN>_<slug>.py`): its path."""
        rev_id = f"{self.name}_{len(self.revisions()) + 1:04d}"
        script = command.revision(self.config(), message, head=f"{self.name}@head", rev_id=rev_id)
        assert isinstance(script, Script)
        return Path(script.path)


@dataclass
class Migrated:
    """What `migrate` did to one database."""

    name: str
    head: str = ""  # the revision the database is at now
    adopted: str = ""  # the revision a database of the previous mechanism was stamped at
    applied: list[str] = field(default_factory=list)  # "<revision>: <message>", in the order applied

    def summary(self) -> str:
        adopted = f"adopted from schema_migrations at {self.adopted}; " if self.adopted else ""
        if not self.applied:
            return f"{self.name}: {adopted}at {self.head}, nothing to apply"
        lines = [f"{self.name}: {adopted}applied {len(self.applied)}, now at {self.head}"]
        return "\n".join(lines + [f"  {revision}" for revision in self.applied])


def _dialect(name: str) -> str:
    """The dialect of `render` for a SQLAlchemy dialect name."""
    return "mysql" if name in ("mysql", "mariadb") else name


def render(dialect: str, ddl: Ddl) -> list[str]:
    """`ddl`'s statements for `dialect`, tokens replaced; none when it is another dialect's change."""
    text_ = ddl if isinstance(ddl, str) else ddl.get(dialect, "")
    for token, value in _TOKENS[dialect].items():
        text_ = text_.replace(token, value)
    return [stmt.strip() for stmt in text_.split(";") if stmt.strip()]


def run(ddl: Ddl) -> None:
    """In a revision's `upgrade()`: run `ddl` on the database being migrated."""
    for stmt in render(_dialect(op.get_bind().dialect.name), ddl):
        op.execute(stmt)


async def migrate(db: Database, history: History, wait: float = LOCK_WAIT_SECONDS, to: str = "") -> Migrated:
    """Upgrade `db` to `history`'s head (or revision `to`) under the database's migration lock, waiting for
    it up to `wait` seconds."""
    upgrade = partial(_upgrade, history=history, to=to or f"{history.name}@head")
    if isinstance(db, SqliteDatabase):
        return await asyncio.to_thread(_sqlite, Path(db.path), upgrade, wait)
    if isinstance(db, MysqlDatabase):
        return await _mysql(db.engine_url, upgrade, wait)
    raise TypeError(f"no migrations for {type(db).__name__}")


def _sqlite(path: Path, upgrade: Callable[[Connection], Migrated], wait: float) -> Migrated:
    # sqlite3's timeout is how long BEGIN IMMEDIATE waits for another writer, i.e. the lock's wait.
    engine = create_engine(URL.create("sqlite", database=str(path)), poolclass=NullPool,
                           connect_args={"timeout": wait})  # fmt: skip

    @event.listens_for(engine, "connect")
    def _ours(dbapi_connection: object, _: object) -> None:
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]  # we BEGIN, not sqlite3

    @event.listens_for(engine, "begin")
    def _write_lock(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with engine.connect() as connection:
            try:
                transaction = connection.begin()
            except OperationalError as exc:  # "database is locked": the wait is over
                raise TimeoutError(
                    f"{path.name}: another migrator held the write lock for {wait:g} s"
                ) from exc
            with transaction:
                return upgrade(connection)
    finally:
        engine.dispose()


async def _mysql(url: URL, upgrade: Callable[[Connection], Migrated], wait: float) -> Migrated:
    engine = create_async_engine(url, poolclass=NullPool)
    lock = {"name": f"market_migrate_{url.database}"[:64], "wait": wait}
    try:
        async with engine.connect() as connection:
            held = await connection.scalar(text("SELECT GET_LOCK(:name, :wait)"), lock)
            await connection.commit()  # the lock is the session's; Alembic runs its own transactions
            if held != 1:
                raise TimeoutError(f"{url.database}: another migrator held {lock['name']} for {wait:g} s")
            try:
                migrated = await connection.run_sync(upgrade)
                await connection.commit()  # the last revision's version row (DDL commits the others')
                return migrated
            finally:
                await connection.rollback()
                await connection.execute(text("DO RELEASE_LOCK(:name)"), lock)
                await connection.commit()
    finally:
        await engine.dispose()


def _upgrade(connection: Connection, history: History, to: str) -> Migrated:
    """Adopt a database of the previous mechanism if it is one, then upgrade; the lock is held."""
    report = Migrated(history.name)
    config = history.config()
    config.attributes.update(connection=connection, applied=report.applied)
    legacy = _legacy_version(connection)
    if legacy:
        known = history.revisions()
        if legacy > len(known):
            raise RuntimeError(
                f"{history.name}: schema_migrations at {legacy}, past the history's {len(known)}"
            )
        report.adopted = known[legacy - 1]
        command.stamp(config, report.adopted)
    command.upgrade(config, to)
    report.head = MigrationContext.configure(connection).get_current_revision() or ""
    return report


def _legacy_version(connection: Connection) -> int:
    """The version `schema_migrations` records, if Alembic never ran here (read once: then it stamps)."""
    if MigrationContext.configure(connection).get_current_revision() is not None:
        return 0
    if not inspect(connection).has_table("schema_migrations"):
        return 0
    return int(connection.scalar(text("SELECT MAX(version) FROM schema_migrations")) or 0)
