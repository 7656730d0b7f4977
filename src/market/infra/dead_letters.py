"""The dead letters of the embedded mode: a `dead_letters` table in the consuming service's database (the
distributed mode's are the Kafka topics `<topic>.dlq`: `infra.kafka.KafkaDeadLetters`)."""

from __future__ import annotations

from collections.abc import Callable

from market.kernel.clock import Clock, iso
from market.kernel.db import Database, Row, insert_ignore
from market.kernel.events import Envelope

# Appended to the migrations of every service that consumes events.
DEAD_LETTERS = """
CREATE TABLE dead_letters (
    grp VARCHAR(64) NOT NULL,
    event_id VARCHAR(36) NOT NULL,
    topic VARCHAR(64) NOT NULL,
    order_id VARCHAR(64) NOT NULL,
    body LONGTEXT NOT NULL,
    error VARCHAR(2000) NOT NULL,
    attempts INTEGER NOT NULL,
    failed_at VARCHAR(32) NOT NULL,
    replayed_at VARCHAR(32),
    PRIMARY KEY (grp, event_id)
)
"""


class SqlDeadLetters:
    """`DeadLetters` in the database of the group's service (a group is named after its service)."""

    def __init__(self, database_of: Callable[[str], Database], clock: Clock) -> None:
        self._database_of = database_of
        self._clock = clock

    async def add(self, group: str, envelope: Envelope, error: str, attempts: int) -> None:
        row = {
            "g": group, "e": envelope.event_id, "t": envelope.topic, "o": envelope.order_id,
            "b": envelope.to_bytes().decode(), "err": error[:2000], "a": attempts, "at": iso(self._clock.now()),
        }  # fmt: skip
        async with self._database_of(group).transaction() as tx:
            # Dead again after a replay: the row says so again, with the new error.
            if not await tx.execute(
                f"{insert_ignore(tx.dialect)} INTO dead_letters (grp, event_id, topic, order_id, body, error,"
                " attempts, failed_at) VALUES (:g, :e, :t, :o, :b, :err, :a, :at)",
                row,
            ):
                await tx.execute(
                    "UPDATE dead_letters SET error = :err, attempts = :a, failed_at = :at, replayed_at = NULL"
                    " WHERE grp = :g AND event_id = :e",
                    row,
                )


async def unreplayed(db: Database) -> list[Row]:
    async with db.transaction() as tx:
        return await tx.fetchall(
            "SELECT grp, event_id, topic, order_id, body, error, attempts, failed_at FROM dead_letters"
            " WHERE replayed_at IS NULL ORDER BY failed_at"
        )


async def mark_replayed(db: Database, group: str, event_id: str, at: str) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE dead_letters SET replayed_at = :at WHERE grp = :g AND event_id = :e",
            {"at": at, "g": group, "e": event_id},
        )
