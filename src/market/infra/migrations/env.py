"""Alembic's environment for every history: `market.infra.migrations.migrate` hands it the connection, which
it opened under the database's migration lock, and a list that collects the revisions applied."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise SystemExit("migrations run through `market migrate` (or a service's start): it takes the lock")
applied: list[str] = config.attributes["applied"]


def _record(
    ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]
) -> None:
    if step.is_migration and step.is_upgrade:
        applied.append(f"{step.up_revision_id}: {getattr(step.up_revision, 'doc', '')}")


context.configure(connection=connection, on_version_apply=_record)
with context.begin_transaction():
    context.run_migrations()
