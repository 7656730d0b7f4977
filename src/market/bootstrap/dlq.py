"""`market dlq list|replay`: the events consumers gave up on, and putting them back once the cause is fixed.

Replaying an event writes it, unchanged (same event id), into the outbox of the service that produces its
topic; the relay publishes it again to every group, and the inboxes of the groups that had handled it skip
it. Embedded (`--data-dir`): the dead letters are each consuming service's `dead_letters` table, and the
outbox is the producer's SQLite file (the running server's relay picks the row up). Distributed
(`--distributed`): they are the Kafka topics `<topic>.dlq`, read by the consumer group `market-dlq-replay`
(so a record is replayed once), and the outbox is the producer's MariaDB database.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from market import platform
from market.infra.dead_letters import mark_replayed, unreplayed
from market.infra.kafka import DLQ_SUFFIX, existing_partitions
from market.infra.outbox import SqlOutbox
from market.kernel.clock import SystemClock, iso
from market.kernel.db import Database
from market.kernel.events import Envelope
from market.settings import Settings


@dataclass(frozen=True)
class DeadLetter:
    group: str
    envelope: Envelope
    error: str
    attempts: int


def producer_of(topic: str) -> str:
    return next(s.name for s in platform.SERVICES if topic in s.produces)


async def put_back(db: Database, envelope: Envelope) -> None:
    async with db.transaction() as tx:
        await SqlOutbox(tx, SystemClock()).add(envelope)


async def embedded(dbs: dict[str, Database], replay: bool) -> list[DeadLetter]:
    found = []
    for name, db in dbs.items():
        if not any(s.name == name and s.consumes for s in platform.SERVICES):
            continue
        for row in await unreplayed(db):
            letter = DeadLetter(row["grp"], Envelope.from_bytes(row["body"]), row["error"], row["attempts"])
            found.append(letter)
            if replay:
                await put_back(dbs[producer_of(letter.envelope.topic)], letter.envelope)
                await mark_replayed(
                    db, letter.group, letter.envelope.event_id, iso(SystemClock().now()) or ""
                )
    return found


async def distributed(settings: Settings, dbs: dict[str, Database], replay: bool) -> list[DeadLetter]:
    # A dead-letter topic exists once a letter was put on it; none yet means no dead letters. The
    # partitions are assigned, not joined as a group: no rebalance to wait for, and the ends are known.
    parts = await existing_partitions(
        settings.kafka_bootstrap, [f"{t}{DLQ_SUFFIX}" for t in platform.TOPICS], settings.kafka_security()
    )
    if not parts:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id="market-dlq-replay", enable_auto_commit=False,
        auto_offset_reset="earliest", **settings.kafka_security(),
    )  # fmt: skip
    await consumer.start()
    try:
        return await _read(consumer, parts, dbs, replay)
    finally:
        await consumer.stop()


async def _read(
    consumer: AIOKafkaConsumer, parts: list[TopicPartition], dbs: dict[str, Database], replay: bool
) -> list[DeadLetter]:
    """Every dead letter past the replay group's committed offsets, up to the ends they have now."""
    consumer.assign(parts)
    ends = await consumer.end_offsets(parts)
    found: list[DeadLetter] = []
    empty = 0  # polls in a row that brought nothing: three mean nothing is left before the ends
    while empty < 3 and [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
        polled = await consumer.getmany(*parts, timeout_ms=2000)
        empty = 0 if polled else empty + 1
        for records in polled.values():
            for r in records:
                headers = {k: v.decode() for k, v in r.headers}
                envelope = Envelope.from_bytes(r.value)
                found.append(DeadLetter(headers.get("group", "?"), envelope, headers.get("error", ""),
                                        int(headers.get("attempts", "0"))))  # fmt: skip
                if replay:
                    await put_back(dbs[producer_of(envelope.topic)], envelope)
        if replay:
            await consumer.commit()
    return found


def render(letters: list[DeadLetter], replayed: bool) -> str:
    if not letters:
        return "market dlq: no dead letters"
    lines = [f"{'group':<14} {'event':<14} {'order':<34} {'attempts':>8}  error"]
    lines += [
        f"{d.group:<14} {d.envelope.type:<14.14} {d.envelope.order_id:<34} {d.attempts:>8}  {d.error[:120]}"
        for d in letters
    ]
    verb = "put back in their producers' outboxes" if replayed else "not replayed (market dlq replay)"
    return "\n".join([*lines, f"market dlq: {len(letters)} dead letter(s), {verb}"])
