"""One consumer group of a `KafkaSubscriber` (market.infra.kafka): a partition's records handled one at a
time, each key (order id) in order, a handler waiting on the PG stepping aside for the partition's other
keys (market.infra.lanes); offsets committed up to the first record not yet handled, on a timer and on
revoke/stop; failing handlers retried, undecodable records skipped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from prometheus_client import Counter

from market.infra.lanes import KeyedLanes
from market.kernel.events import Envelope
from market.kernel.messaging import Handler

log = logging.getLogger("market.kafka")
POISON = Counter(
    "market_kafka_undecodable_records_total",
    "Records skipped because they are not an event envelope",
    ["group", "topic"],
)


@dataclass(frozen=True)
class ConsumerSettings:
    """How a `KafkaSubscriber` retries, batches and stops (docs/kafka-and-mysql.md)."""

    retry_backoff: float = 0.2  # first wait after a failed handler; doubles up to max_backoff
    max_backoff: float = 5.0
    max_records: int = 200  # per fetch
    # A partition is paused while this many of its fetched records are not yet handled (a key whose
    # handler keeps failing holds the committed offset; the others go on up to this bound).
    max_pending: int = 1000
    # Handled offsets are committed at most this often (and on stop/revoke): a commit is a broker request,
    # and a crash redelivers at most this long's events, which the inboxes skip.
    commit_interval: float = 0.25
    stop_grace: float = 5.0  # on stop/revoke, how long the event in hand may take before it is cancelled
    session_timeout_ms: int = 10_000  # how long a crashed consumer holds its partitions
    # Kafka's 500 ms long-poll delays a partition resumed while another partition's fetch is pending.
    fetch_max_wait_ms: int = 100


@dataclass
class _Window:
    """A partition's records fetched and not yet handled, in offset order."""

    pending: deque[int] = field(default_factory=deque)
    handled: set[int] = field(default_factory=set)

    def add(self, offset: int) -> None:
        self.pending.append(offset)

    def handle(self, offset: int) -> int | None:
        """Mark `offset` handled; the offset to commit if it moved (the first record not yet handled)."""
        self.handled.add(offset)
        moved = None
        while self.pending and self.pending[0] in self.handled:
            self.handled.discard(moved := self.pending.popleft())
        if moved is None:
            return None
        return self.pending[0] if self.pending else moved + 1

    def __len__(self) -> int:
        return len(self.pending)


class GroupConsumer(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(
        self, group: str, handlers: dict[str, Handler], consumer: AIOKafkaConsumer, settings: ConsumerSettings
    ) -> None:
        self.group = group
        self._handlers = handlers
        self._consumer = consumer
        self._settings = settings
        self._lanes: dict[TopicPartition, KeyedLanes] = {}  # one slot each: one handler at a time
        self._windows: dict[TopicPartition, _Window] = {}
        self._done: dict[TopicPartition, int] = {}  # next offset to commit, per partition
        self._draining = False
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._consumer.subscribe(list(self._handlers), listener=self)
        await self._consumer.start()
        self._tasks = [asyncio.create_task(self._fetch()), asyncio.create_task(self._commit_every())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._drain()
        await self._consumer.stop()  # leaves the group: its partitions move on at once

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self._drain()
        self._done.clear()  # what could not be committed belongs to the old generation
        self._draining = False

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        log.info("group %s: assigned %s", self.group, sorted(f"{tp.topic}/{tp.partition}" for tp in assigned))

    async def _fetch(self) -> None:
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=self._settings.max_records)
            except Exception:
                log.exception("group %s: fetch failed; retrying", self.group)
                await asyncio.sleep(1)
                continue
            if self._draining:
                continue  # fetched under an assignment being revoked: refetched from the committed offset
            for tp, records in batches.items():
                window, lanes = self._windows.get(tp), self._lanes.get(tp)
                if window is None or lanes is None:  # a partition's first fetch since it was assigned
                    window = self._windows[tp] = _Window()
                    lanes = self._lanes[tp] = KeyedLanes()
                for record in records:
                    window.add(record.offset)
                    # One lane per key: an order's events in order, the others past one waiting on the PG.
                    lanes.submit(record.key, partial(self._handle_one, tp, window, record))
                if len(window) >= self._settings.max_pending:
                    self._consumer.pause(tp)

    async def _handle_one(self, tp: TopicPartition, window: _Window, record: Any) -> None:
        if self._draining:
            return  # left unhandled: the committed offset stops before it, so it is delivered again
        await self._handle(record)
        if self._windows.get(tp) is not window:
            return  # handled under an assignment since revoked: its offset is no longer ours to commit
        offset = window.handle(record.offset)
        if offset is not None:
            self._done[tp] = offset
        if len(window) < self._settings.max_pending and not self._draining and tp in self._consumer.paused():
            self._consumer.resume(tp)

    async def _handle(self, record: Any) -> None:
        try:
            envelope = Envelope.from_bytes(record.value)
        except (ValueError, KeyError, TypeError):
            # No retry can ever decode it: log it whole (the operator's copy) and move past it.
            POISON.labels(self.group, record.topic).inc()
            log.error("group %s skips undecodable record %s/%s@%s: %r", self.group, record.topic,
                      record.partition, record.offset, record.value[:2000])  # fmt: skip
            return
        backoff = self._settings.retry_backoff
        while True:
            try:
                await self._handlers[record.topic](envelope)
                return
            except Exception:
                # Not committed, so never lost: the partition waits for this event, loudly.
                log.exception("group %s failed on %s/%s@%s; retrying in %.1fs",
                              self.group, record.topic, record.partition, record.offset, backoff)  # fmt: skip
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._settings.max_backoff)

    async def _commit_every(self) -> None:
        while True:
            await asyncio.sleep(self._settings.commit_interval)
            if self._done and not self._draining:
                await self._commit(list(self._done))

    async def _drain(self) -> None:
        """Let the events in hand finish (cancel them after the grace), start no other, then commit."""
        self._draining = True
        busy = [lanes for lanes in self._lanes.values() if lanes.busy()]
        if busy:
            # The queued events return at once (`_handle_one` sees the drain); those in hand finish.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._settings.stop_grace):
                    await asyncio.gather(*(lanes.wait_idle() for lanes in busy))
        # What is still running is cancelled: its transaction rolls back, and the event is redelivered.
        await asyncio.gather(*(lanes.cancel() for lanes in self._lanes.values()))
        self._lanes.clear()
        self._windows.clear()
        await self._commit(list(self._done))

    async def _commit(self, tps: list[TopicPartition]) -> None:
        offsets = {tp: self._done[tp] for tp in tps if tp in self._done}
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError):
            # Rebalanced away: the new owner gets these events again and its inbox skips them.
            log.warning("group %s: commit of %s refused after a rebalance", self.group, offsets)
        except KafkaError:
            log.exception("group %s: commit failed; retried with the next batch", self.group)
            return
        for tp, offset in offsets.items():
            if self._done.get(tp) == offset:
                del self._done[tp]
