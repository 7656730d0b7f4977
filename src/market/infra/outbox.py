"""The SQL outbox and inbox every producer and consumer shares, and the relay that drains the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from prometheus_client import Gauge

from market.infra.tracing import traceparent
from market.kernel.clock import Clock, iso
from market.kernel.db import Database, Row, Tx, insert_ignore
from market.kernel.events import Envelope
from market.kernel.messaging import OutboxStore, Publish, Publisher

log = logging.getLogger("market.outbox")
BACKLOG = Gauge("market_outbox_backlog", "Outbox rows not yet taken by the transport", ["service"])


class SqlOutbox:
    def __init__(self, tx: Tx, clock: Clock, on_write: asyncio.Event | None = None) -> None:
        self._tx = tx
        self._clock = clock
        self._on_write = on_write

    async def add(self, envelope: Envelope) -> None:
        # The context the event is written in (a request's, an event's) goes with it: its consumers
        # continue that trace (infra.tracing).
        await self._tx.write(
            "INSERT INTO outbox (event_id, topic, body, created_at, traceparent) VALUES (:e, :t, :b, :c, :p)",
            {
                "e": envelope.event_id,
                "t": envelope.topic,
                "b": envelope.to_bytes().decode(),
                "c": iso(self._clock.now()),
                "p": traceparent() or None,
            },
        )
        if self._on_write is not None:
            # Wakes the relay; if the transaction rolls back it finds nothing, which is harmless.
            self._on_write.set()


class SqlInbox:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def claim(self, envelope: Envelope) -> bool:
        changed = await self._tx.execute(
            f"{insert_ignore(self._tx.dialect)} INTO inbox (event_id, event_type, order_id) VALUES (:e, :t, :o)",
            {"e": envelope.event_id, "t": envelope.type, "o": envelope.order_id},
        )
        return changed == 1


class SqlOutboxStore:
    """The relay's view of an outbox table.

    MariaDB: the rows are claimed with `FOR UPDATE SKIP LOCKED` and stay locked while they are published,
    so the relays of N replicas publish disjoint rows, each event once (at least once under a crash:
    rows published but not yet deleted are published again). SQLite: the embedded mode runs one process,
    hence one relay, and a transaction held during a publish would stop every other write to the file;
    the rows are read, published, then deleted.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    async def relay(self, limit: int, publish: Publish) -> int:
        select = "SELECT seq, body, traceparent FROM outbox ORDER BY seq LIMIT :n"
        if self._db.dialect == "sqlite":
            async with self._db.transaction() as tx:
                rows = await tx.fetchall(select, {"n": limit})
            if rows:
                await publish([_envelope(r) for r in rows])
                async with self._db.transaction() as tx:
                    await _delete(tx, [r["seq"] for r in rows])
            return len(rows)
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(f"{select} FOR UPDATE SKIP LOCKED", {"n": limit})
            if rows:
                await publish([_envelope(r) for r in rows])
                await _delete(tx, [r["seq"] for r in rows])
        return len(rows)

    async def backlog(self) -> int:
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT COUNT(*) AS n FROM outbox")
        return int((row or {"n": 0})["n"])


def _envelope(row: Row) -> Envelope:
    return Envelope.from_bytes(row["body"], trace=row["traceparent"] or "")


async def _delete(tx: Tx, seqs: Sequence[int]) -> None:
    marks = ", ".join(f":s{i}" for i in range(len(seqs)))
    await tx.write(f"DELETE FROM outbox WHERE seq IN ({marks})", {f"s{i}": s for i, s in enumerate(seqs)})


async def report_backlog(name: str, store: OutboxStore) -> None:
    """Publish the outbox backlog as a metric (the runbook's first look when events seem stuck)."""
    BACKLOG.labels(name).set(await store.backlog())


class OutboxRelay:
    """Publishes a service's outbox, a batch at a time: woken by a write (or every `idle_poll` s), and at
    once again after a full batch. A batch is published in order, then deleted; a publish that fails
    leaves its rows for the next turn."""

    def __init__(
        self,
        name: str,
        store: OutboxStore,
        publisher: Publisher,
        wake: asyncio.Event,
        batch: int = 200,
        idle_poll: float = 0.25,
    ) -> None:
        self.name = name
        self._store = store
        self._publisher = publisher
        self._wake = wake
        self._batch = batch
        self._idle_poll = idle_poll

    async def run(self) -> None:
        while True:
            self._wake.clear()  # before the fetch: a row written after it wakes the next wait
            try:
                published = await self._store.relay(self._batch, self._publisher.publish)
            except Exception:
                log.exception("outbox relay %s: publish failed, will retry", self.name)
                published = 0
                await asyncio.sleep(0.5)
            if published == self._batch:
                continue  # a full batch: there may be more behind it
            # asyncio.timeout, not wait_for: Python 3.11's wait_for drops a cancel that comes in the same
            # turn as the wake-up, and the relay would go on polling after its task was cancelled.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._idle_poll):
                    await self._wake.wait()
