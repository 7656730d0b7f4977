"""The distributed mode's event transport: Kafka through aiokafka (docs/kafka-and-mysql.md says why)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError, TopicAlreadyExistsError
from prometheus_client import Counter

from market.kernel.events import Envelope
from market.kernel.messaging import Handler

log = logging.getLogger("market.kafka")
POISON = Counter(
    "market_kafka_undecodable_records_total",
    "Records skipped because they are not an event envelope",
    ["group", "topic"],
)


async def ensure_topics(
    bootstrap: str, topics: Iterable[str], partitions: int, replicas: int = 1
) -> list[str]:
    """Create the missing topics (existing ones are left as they are); the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            response = await admin.create_topics([NewTopic(t, partitions, replicas) for t in missing])
            for topic, code, *_ in response.topic_errors:
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise KafkaError(f"could not create topic {topic}: error code {code}")
        return missing
    finally:
        await admin.close()


class KafkaPublisher:
    """The `Publisher` port on Kafka. Key = order id: one order's events share a partition, in order.

    Idempotent producer, acks=all: the broker drops a retried duplicate and keeps each partition's
    order; `publish` returns only once every record is acknowledged and raises if one failed for good,
    so the outbox relay deletes a row only when Kafka holds its event. While the broker is unreachable
    `publish` waits (an idempotent producer never expires a batch) and completes once it is back;
    `ping` fails at once, for readiness.
    """

    def __init__(
        self, bootstrap: str, client_id: str = "market", linger_ms: int = 5, request_timeout_ms: int = 30_000
    ) -> None:
        self._options: dict[str, Any] = {
            "bootstrap_servers": bootstrap, "client_id": client_id, "enable_idempotence": True, "acks": "all",
            "linger_ms": linger_ms, "request_timeout_ms": request_timeout_ms,
        }  # fmt: skip
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(**self._options)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()  # flushes what is still buffered
            self._producer = None

    async def ping(self) -> None:
        """Raise unless the broker answers a metadata request (for readiness checks)."""
        if self._producer is None or not await self._producer.client.force_metadata_update():
            raise ConnectionError("Kafka broker unreachable")

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        if self._producer is None:
            raise RuntimeError("KafkaPublisher.publish() before start()")
        acks: list[asyncio.Future[Any]] = []
        try:
            for env in envelopes:
                acks.append(await self._producer.send(env.topic, env.to_bytes(), key=env.order_id.encode()))
        finally:
            # Even when a send() failed, wait for those queued so no ack error goes unobserved.
            results = await asyncio.gather(*acks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result


@dataclass(frozen=True)
class ConsumerSettings:
    """How a `KafkaSubscriber` retries, batches and stops (docs/kafka-and-mysql.md)."""

    retry_backoff: float = 0.2  # first wait after a failed handler; doubles up to max_backoff
    max_backoff: float = 5.0
    max_records: int = 200  # per fetch
    # Handled offsets are committed at most this often (and on stop/revoke): a commit is a broker request,
    # and a crash redelivers at most this long's events, which the inboxes skip.
    commit_interval: float = 0.25
    stop_grace: float = 5.0  # on stop/revoke, how long the event in hand may take before it is cancelled
    session_timeout_ms: int = 10_000  # how long a crashed consumer holds its partitions
    # Kafka's 500 ms long-poll delays a partition resumed while another partition's fetch is pending.
    fetch_max_wait_ms: int = 100


class KafkaSubscriber:
    """The `Subscriber` port on Kafka: one consumer per group, one task per assigned partition.

    A record's offset is committed only after its handler returned, i.e. after the handler's own
    transaction (effect + inbox row) committed; a crash in between redelivers it and the inbox skips
    it. A failing handler is retried with backoff, never skipped: its partition waits, the others go
    on. Handled offsets are committed every `commit_interval` seconds, and when partitions are revoked
    or the consumer stops.
    """

    def __init__(
        self, bootstrap: str, client_id: str = "market", settings: ConsumerSettings | None = None
    ) -> None:
        self._bootstrap = bootstrap
        self._client_id = client_id
        self._settings = settings or ConsumerSettings()
        self._handlers: dict[str, dict[str, Handler]] = {}
        self._groups: list[_GroupConsumer] = []

    def subscribe(self, topic: str, group: str, handler: Handler) -> None:
        topics = self._handlers.setdefault(group, {})
        if topic in topics:
            raise ValueError(f"group {group} already subscribes to {topic}")
        topics[topic] = handler

    async def start(self) -> None:
        for group, handlers in self._handlers.items():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap, client_id=f"{self._client_id}-{group}", group_id=group,
                enable_auto_commit=False, auto_offset_reset="earliest",
                session_timeout_ms=self._settings.session_timeout_ms,
                fetch_max_wait_ms=self._settings.fetch_max_wait_ms,
            )  # fmt: skip
            g = _GroupConsumer(group, handlers, consumer, self._settings)
            await g.start()
            self._groups.append(g)

    async def stop(self) -> None:
        """Finish the events in hand (cancel them after `stop_grace` s), commit, leave the groups."""
        groups, self._groups = self._groups, []
        await asyncio.gather(*(g.stop() for g in groups))


class _GroupConsumer(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(
        self, group: str, handlers: dict[str, Handler], consumer: AIOKafkaConsumer, settings: ConsumerSettings
    ) -> None:
        self.group = group
        self._handlers = handlers
        self._consumer = consumer
        self._settings = settings
        self._busy: dict[TopicPartition, asyncio.Task[None]] = {}
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
                # Paused until its batch is handled: one task per partition, so its order is kept.
                self._consumer.pause(tp)
                self._busy[tp] = asyncio.create_task(self._handle_batch(tp, records))

    async def _handle_batch(self, tp: TopicPartition, records: list[Any]) -> None:
        handled = 0
        try:
            for record in records:
                if self._draining:
                    break
                await self._handle(record)
                handled += 1
                self._done[tp] = record.offset + 1
        finally:
            self._busy.pop(tp, None)
            if not self._draining and tp in self._consumer.assignment():
                if handled < len(records):  # ended abnormally: fetch the unhandled records again
                    self._consumer.seek(tp, records[handled].offset)
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
        """Let each partition finish the event in hand (cancel it after the grace), then commit."""
        self._draining = True
        tasks = list(self._busy.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self._settings.stop_grace)
            for task in late:
                task.cancel()  # its transaction rolls back; the event is redelivered
            await asyncio.gather(*tasks, return_exceptions=True)
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
