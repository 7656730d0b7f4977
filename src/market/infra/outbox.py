"""The SQL outbox and inbox every producer and consumer shares, and the relay that drains the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from prometheus_client import Gauge

from market.kernel.clock import Clock, iso
from market.kernel.db import Database, Tx, insert_ignore
from market.kernel.events import Envelope
from market.kernel.messaging import OutboxStore, Publisher

log = logging.getLogger("market.outbox")
REMOVE_CHUNK = 200
BACKLOG = Gauge("market_outbox_backlog", "Outbox rows not yet taken by the transport", ["service"])


class SqlOutbox:
    def __init__(self, tx: Tx, clock: Clock, on_write: asyncio.Event | None = None) -> None:
        self._tx = tx
        self._clock = clock
        self._on_write = on_write

    async def add(self, envelope: Envelope) -> None:
        await self._tx.write(
            "INSERT INTO outbox (event_id, topic, body, created_at) VALUES (:e, :t, :b, :c)",
            {
                "e": envelope.event_id,
                "t": envelope.topic,
                "b": envelope.to_bytes().decode(),
                "c": iso(self._clock.now()),
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
    def __init__(self, db: Database) -> None:
        self._db = db

    async def pending(
        self, limit: int, skip: frozenset[int], remove: Sequence[int] = ()
    ) -> list[tuple[int, Envelope]]:
        async with self._db.transaction() as tx:
            await _delete(tx, remove)
            if limit <= 0:
                return []
            rows = await tx.fetchall(
                "SELECT seq, body FROM outbox ORDER BY seq LIMIT :n", {"n": limit + len(skip)}
            )
        return [(r["seq"], Envelope.from_bytes(r["body"])) for r in rows if r["seq"] not in skip][:limit]

    async def backlog(self) -> int:
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT COUNT(*) AS n FROM outbox")
        return int((row or {"n": 0})["n"])


async def _delete(tx: Tx, seqs: Sequence[int]) -> None:
    # One statement per chunk: MariaDB's driver sends an executemany DELETE row by row.
    for start in range(0, len(seqs), REMOVE_CHUNK):
        chunk = seqs[start : start + REMOVE_CHUNK]
        marks = ", ".join(f":s{i}" for i in range(len(chunk)))
        await tx.write(
            f"DELETE FROM outbox WHERE seq IN ({marks})", {f"s{i}": s for i, s in enumerate(chunk)}
        )


async def report_backlog(name: str, store: OutboxStore) -> None:
    """Publish the outbox backlog as a metric (the runbook's first look when events seem stuck)."""
    BACKLOG.labels(name).set(await store.backlog())


class OutboxRelay:
    """Publishes outbox rows at least once, without waiting on slow consumers.

    Batches travel concurrently, so a failed batch retried after a later one can reorder events; the
    saga never has two events of one order in flight at once (each is produced only after the previous
    one was consumed), and consumers' inboxes and status machines absorb what does arrive twice.

    A batch is handed to the publisher as its own task; its rows are deleted after the publisher
    returned, at the relay's next turn. Rows in flight are skipped by the next fetch; rows whose publish
    failed are fetched again.
    """

    def __init__(
        self,
        name: str,
        store: OutboxStore,
        publisher: Publisher,
        wake: asyncio.Event,
        batch: int = 200,
        max_in_flight: int = 2000,
        idle_poll: float = 0.25,
    ) -> None:
        self.name = name
        self._store = store
        self._publisher = publisher
        self._wake = wake
        self._batch = batch
        self._max_in_flight = max_in_flight
        self._idle_poll = idle_poll
        self._in_flight: set[int] = set()
        self._done: list[int] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def run(self) -> None:
        """Fetch when woken by a write (or every `idle_poll` s), again at once only after a full batch.

        Rows whose publish completed are deleted at the next turn, in one statement with the others done
        by then and in the same transaction as that turn's fetch: a completed publish does not wake the
        relay for that alone (the in-flight set keeps those rows from being fetched again meanwhile)."""
        while not self._stopping:
            self._wake.clear()  # before the fetch: a row written after it wakes the next wait
            limit = min(self._batch, self._max_in_flight - len(self._in_flight))
            try:
                rows = await self._take_turn(limit)
            except Exception:
                log.exception("outbox relay %s: fetch failed", self.name)
                rows = []
            if rows:
                self._start(rows)
                if len(rows) == limit:
                    continue  # a full batch: there may be more behind it
            # asyncio.timeout, not wait_for: Python 3.11's wait_for drops a cancel that comes in the same
            # turn as the wake-up, and the relay would go on polling after its task was cancelled.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._idle_poll):
                    await self._wake.wait()

    def _start(self, rows: list[tuple[int, Envelope]]) -> None:
        seqs = [seq for seq, _ in rows]
        self._in_flight.update(seqs)
        task = asyncio.create_task(self._publish(seqs, [env for _, env in rows]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, seqs: list[int], envelopes: list[Envelope]) -> None:
        try:
            await self._publisher.publish(envelopes)
        except Exception:
            log.exception("outbox relay %s: publish failed, will retry", self.name)
            await asyncio.sleep(0.5)
            self._in_flight.difference_update(seqs)
            return
        self._done.extend(seqs)

    async def _take_turn(self, limit: int) -> list[tuple[int, Envelope]]:
        """Delete what was published since the last turn and fetch up to `limit` rows, in one transaction."""
        done, self._done = self._done, []
        try:
            rows = await self._store.pending(limit, frozenset(self._in_flight.difference(done)), done)
        except Exception:
            self._done.extend(done)
            raise
        self._in_flight.difference_update(done)
        return rows

    async def stop(self, grace: float = 2.0) -> None:
        """Let publishes in flight finish (up to `grace` s), remove what they delivered, cancel the rest."""
        self._stopping = True
        self._wake.set()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await self._take_turn(0)
        except Exception:
            log.exception("outbox relay %s: final flush failed; rows will be published again", self.name)
