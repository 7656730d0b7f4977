"""The distributed mode's event transport: Kafka through aiokafka (docs/kafka-and-mysql.md says why)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from market.infra.kafka_group import ConsumerSettings, GroupConsumer
from market.kernel.events import Envelope
from market.kernel.messaging import Handler

log = logging.getLogger("market.kafka")


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
        self._groups: list[GroupConsumer] = []

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
            g = GroupConsumer(group, handlers, consumer, self._settings)
            await g.start()
            self._groups.append(g)

    async def stop(self) -> None:
        """Finish the events in hand (cancel them after `stop_grace` s), commit, leave the groups."""
        groups, self._groups = self._groups, []
        await asyncio.gather(*(g.stop() for g in groups))
