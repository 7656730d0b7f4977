"""Duplicate deliveries: while the campaign runs, a share of the events on the topics (chosen by the seed
and the event id) is produced a second time, as a producer retrying after a lost acknowledgement would."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from types import TracebackType

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

from market import platform
from market.settings import Settings
from market_bench.chaos.schedule import Campaign

log = logging.getLogger("market.chaos")


class Duplicator:
    def __init__(self, settings: Settings, campaign: Campaign) -> None:
        self._settings, self._campaign = settings, campaign
        self.duplicated = 0
        self._task: asyncio.Task[None] | None = None

    def chosen(self, event_id: str) -> bool:
        digest = hashlib.sha256(f"{self._campaign.seed}/{event_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self._campaign.duplicates

    async def __aenter__(self) -> Duplicator:
        if self._campaign.duplicates > 0:
            self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        bootstrap = self._settings.kafka_bootstrap
        consumer = AIOKafkaConsumer(
            *platform.TOPICS, bootstrap_servers=bootstrap, group_id=f"chaos-duplicator-{self._campaign.seed}",
            auto_offset_reset="latest", enable_auto_commit=True,
        )  # fmt: skip
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
        await consumer.start()
        await producer.start()
        try:
            while True:
                try:
                    polled = await consumer.getmany(timeout_ms=500)
                except KafkaError:
                    await asyncio.sleep(1)  # the broker restarting: go on once it is back
                    continue
                for records in polled.values():
                    for record in records:
                        with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
                            if self.chosen(orjson.loads(record.value)["event_id"]):
                                try:
                                    await producer.send(record.topic, record.value, key=record.key)
                                except KafkaError:
                                    log.warning("a duplicate could not be sent (the broker restarting?)")
                                    continue
                                self.duplicated += 1
        finally:
            await producer.stop()
            await consumer.stop()
