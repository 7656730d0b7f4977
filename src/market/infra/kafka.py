"""The distributed mode's event transport: Kafka through aiokafka (docs/kafka-and-mysql.md says why)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from contextlib import AsyncExitStack
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError, TopicAlreadyExistsError
from prometheus_client import Counter

from market.infra.consuming import LAG, Delivery
from market.infra.startup import when_reachable
from market.infra.tracing import TRACEPARENT
from market.kernel.events import Envelope, MalformedEvent
from market.kernel.messaging import Consumer
from market.settings import Settings

log = logging.getLogger("market.kafka")
DLQ_SUFFIX = ".dlq"
POISON = Counter(
    "market_kafka_undecodable_records_total",
    "Records skipped because they are not an event envelope",
    ["group", "topic"],
)


async def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int,
    replicas: int | None = None,
    security: dict[str, str] | None = None,
) -> list[str]:
    """Create the missing topics (existing ones are left as they are); the names created. `replicas`:
    copies of each partition, by default the cluster's `default.replication.factor` (three brokers: 3).
    `security`: SASL settings of aiokafka (Settings.kafka_security), for every client here."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **(security or {}))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            copies = replicas or await default_replicas(admin)
            response = await admin.create_topics([NewTopic(t, partitions, copies) for t in missing])
            for topic, code, *_ in response.topic_errors:
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise KafkaError(f"could not create topic {topic}: error code {code}")
        return missing
    finally:
        await admin.close()


async def default_replicas(admin: AIOKafkaAdminClient) -> int:
    """The cluster's `default.replication.factor`, read from a broker: aiokafka's CreateTopics (v3) cannot
    leave the choice to the broker (-1 needs v4)."""
    broker = (await admin.describe_cluster())["brokers"][0]["node_id"]
    wanted = ConfigResource(ConfigResourceType.BROKER, str(broker), {"default.replication.factor": None})
    [response] = await admin.describe_configs([wanted])
    [resource] = response.to_object()["resources"]
    return int(resource["config_entries"][0]["config_value"])


async def existing_partitions(
    bootstrap: str, topics: Sequence[str], security: dict[str, str] | None = None
) -> list[TopicPartition]:
    """The partitions of those of `topics` that exist now (a topic Kafka does not know has none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **(security or {}))
    await admin.start()
    try:
        known = set(await admin.list_topics())
        present = [t for t in topics if t in known]
        described = await admin.describe_topics(present) if present else []
    finally:
        await admin.close()
    return [TopicPartition(t["topic"], p["partition"]) for t in described if t["error_code"] == 0
            for p in sorted(t["partitions"], key=lambda p: p["partition"])]  # fmt: skip


class KafkaPublisher:
    """The `Publisher` port on Kafka. Key = order id: one order's events share a partition, in order.

    Idempotent producer, acks=all: the broker drops a retried duplicate and keeps each partition's
    order; `publish` returns only once every record is acknowledged and raises if one failed for good,
    so the outbox relay deletes a row only when Kafka holds its event. While the broker is unreachable
    `publish` waits (an idempotent producer never expires a batch) and completes once it is back;
    `ping` fails at once, for readiness.
    """

    def __init__(
        self,
        bootstrap: str,
        client_id: str = "market",
        linger_ms: int = 5,
        request_timeout_ms: int = 30_000,
        security: dict[str, str] | None = None,
    ) -> None:
        self._options: dict[str, Any] = {
            "bootstrap_servers": bootstrap, "client_id": client_id, "enable_idempotence": True, "acks": "all",
            "linger_ms": linger_ms, "request_timeout_ms": request_timeout_ms, **(security or {}),
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

    async def send(self, topic: str, envelope: Envelope, headers: list[tuple[str, bytes]]) -> None:
        """One record on `topic`, acknowledged (the dead letters' way)."""
        if self._producer is None:
            raise RuntimeError("KafkaPublisher.send() before start()")
        ack = await self._producer.send(
            topic, envelope.to_bytes(), key=envelope.order_id.encode(), headers=headers
        )
        await ack

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        if self._producer is None:
            raise RuntimeError("KafkaPublisher.publish() before start()")
        acks: list[asyncio.Future[Any]] = []
        try:
            for env in envelopes:
                # The event's trace travels as a record header, beside the envelope (infra.tracing).
                headers = [(TRACEPARENT, env.trace.encode())] if env.trace else None
                acks.append(
                    await self._producer.send(
                        env.topic, env.to_bytes(), key=env.order_id.encode(), headers=headers
                    )
                )
        finally:
            # Even when a send() failed, wait for those queued so no ack error goes unobserved.
            results = await asyncio.gather(*acks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result


class KafkaDeadLetters:
    """The dead letters on Kafka: the event on `<topic>.dlq`, keyed by order id, with the consumer group,
    the error and the attempts as headers (`market dlq` reads them)."""

    def __init__(self, publisher: KafkaPublisher) -> None:
        self._publisher = publisher

    async def add(self, group: str, envelope: Envelope, error: str, attempts: int) -> None:
        headers = [
            ("group", group.encode()),
            ("error", error[:2000].encode()),
            ("attempts", str(attempts).encode()),
        ]
        await self._publisher.send(f"{envelope.topic}{DLQ_SUFFIX}", envelope, headers)


class KafkaSubscriber:
    """The `Subscriber` port on Kafka: one consumer per group, in Kafka's consumer group (aiokafka's), so
    N replicas share the partitions and a replica that comes or goes makes the group rebalance.

    Each poll's records of a partition go to the consumer as one batch (`infra.consuming.deliver`: one
    transaction for the batch's effects and inbox rows), the partitions of a poll concurrently; then the
    poll's offsets are committed at once. A crash before the commit redelivers the poll, and the inboxes
    skip what was handled. A record that is not an event is logged whole and skipped.
    """

    def __init__(
        self,
        bootstrap: str,
        client_id: str = "market",
        max_records: int = 500,
        session_timeout_ms: int = 10_000,
        delivery: Delivery | None = None,
        security: dict[str, str] | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self._delivery = delivery or Delivery()
        self._security = security or {}
        self._client_id = client_id
        self._max_records = max_records
        self._session_timeout_ms = session_timeout_ms
        self._subscriptions: dict[str, dict[str, Consumer]] = {}
        self._consumers: list[AIOKafkaConsumer] = []
        self._tasks: list[asyncio.Task[None]] = []

    def subscribe(self, topic: str, group: str, consumer: Consumer) -> None:
        topics = self._subscriptions.setdefault(group, {})
        if topic in topics:
            raise ValueError(f"group {group} already subscribes to {topic}")
        topics[topic] = consumer

    async def start(self) -> None:
        """Join each group; those an earlier call joined before it failed stay joined."""
        for group, topics in list(self._subscriptions.items())[len(self._consumers) :]:
            consumer = AIOKafkaConsumer(
                *topics, bootstrap_servers=self._bootstrap, client_id=f"{self._client_id}-{group}",
                group_id=group, enable_auto_commit=False, auto_offset_reset="earliest",
                session_timeout_ms=self._session_timeout_ms, fetch_max_wait_ms=100, **self._security,
            )  # fmt: skip
            try:
                await consumer.start()
            except BaseException:
                await consumer.stop()
                raise
            self._consumers.append(consumer)
            self._tasks.append(asyncio.create_task(self._consume(group, consumer, topics)))

    async def stop(self) -> None:
        """Stop polling (a batch in hand is cancelled: its transaction rolls back), leave the groups."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for consumer in self._consumers:
            await consumer.stop()  # leaves the group: its partitions move on at once
        self._tasks, self._consumers = [], []

    async def report_lag(self) -> None:
        """Set `market_consumer_lag` per group: records not yet committed on the partitions this process
        holds (`market status` and the console read it)."""
        for group, consumer in zip(self._subscriptions, self._consumers, strict=True):
            assigned = list(consumer.assignment())
            ends = await consumer.end_offsets(assigned) if assigned else {}
            lag = 0
            for tp in assigned:
                committed = await consumer.committed(tp)
                lag += max(0, ends[tp] - (committed or 0))
            LAG.labels(group).set(lag)

    async def _consume(self, group: str, consumer: AIOKafkaConsumer, topics: dict[str, Consumer]) -> None:
        while True:
            try:
                polled = await consumer.getmany(timeout_ms=500, max_records=self._max_records)
            except KafkaError:
                log.exception("group %s: fetch failed; retrying", group)
                await asyncio.sleep(1)
                continue
            if not polled:
                continue
            await asyncio.gather(
                *(
                    self._delivery.deliver(group, topics[tp.topic], _envelopes(group, records))
                    for tp, records in polled.items()
                )
            )
            offsets = {tp: records[-1].offset + 1 for tp, records in polled.items()}
            try:
                await consumer.commit(offsets)
            except (CommitFailedError, IllegalStateError):
                # Rebalanced away meanwhile: the new owner gets these events again and its inbox skips them.
                log.warning("group %s: commit of %s refused after a rebalance", group, offsets)
            except KafkaError:
                log.exception("group %s: commit failed; the poll may be delivered again", group)


def _header(record: Any, name: str) -> str:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode(errors="replace")
    return ""


def _envelopes(group: str, records: Sequence[Any]) -> list[Envelope]:
    envelopes = []
    for record in records:
        try:
            envelopes.append(Envelope.from_bytes(record.value, trace=_header(record, TRACEPARENT)))
        except MalformedEvent:
            # No retry can ever decode it: log it whole (the operator's copy) and move past it.
            POISON.labels(group, record.topic).inc()
            log.error("group %s skips undecodable record %s/%s@%s: %r", group, record.topic,
                      record.partition, record.offset, record.value[:2000])  # fmt: skip
    return envelopes


class KafkaTransport:
    """A service process's Kafka: its topics ensured, a publisher (the relay's, and the dead letters'),
    and its consumer groups, whose lag it reports; started and stopped on an exit stack."""

    def __init__(self, settings: Settings, name: str) -> None:
        bootstrap, self._security = settings.kafka_bootstrap, settings.kafka_security()
        self._bootstrap, client = bootstrap, f"market-{name}"
        self.publisher = KafkaPublisher(bootstrap, client_id=client, security=self._security)
        delivery = Delivery(KafkaDeadLetters(self.publisher), settings.consumer_max_attempts)
        self.subscriber = KafkaSubscriber(bootstrap, client, delivery=delivery, security=self._security)

    async def prepare(self, topics: Sequence[str], partitions: int, stack: AsyncExitStack) -> None:
        """The topics and their dead letters' exist; the publisher runs."""
        every_topic = [*topics, *(f"{t}{DLQ_SUFFIX}" for t in topics)]
        await ensure_topics(self._bootstrap, every_topic, partitions, security=self._security)
        await self.publisher.start()
        stack.push_async_callback(self.publisher.stop)

    async def consume(self, stack: AsyncExitStack) -> None:
        """Join the consumer groups subscribed so far (after the services' subscriptions)."""
        stack.push_async_callback(self.subscriber.stop)
        await when_reachable(self.subscriber.start, "Kafka")  # it may restart between prepare and here
