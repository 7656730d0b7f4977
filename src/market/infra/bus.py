"""The embedded mode's event transport: an in-process bus with Kafka's delivery semantics.

Each consumer group gets its own partitions (by order id, so one order's events stay in order). A
partition's worker hands everything queued to the consumer as one batch (`infra.consuming.deliver`), the
way a Kafka consumer handles a poll: under load batches grow by themselves, idle they are one event.
`publish` returns once every group has handled the events, so the outbox row is removed only after its
effect is committed — a crash before that republishes it, and inboxes skip duplicates.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence

from market.infra.consuming import LAG, Delivery
from market.kernel.events import Envelope
from market.kernel.messaging import Consumer

_Item = tuple[Envelope, asyncio.Future[None]]


class _Partition:
    def __init__(self, group: str, consumer: Consumer, delivery: Delivery) -> None:
        self.group, self.consumer, self.delivery = group, consumer, delivery
        self.queue: list[_Item] = []
        self.handling: list[_Item] = []
        self.worker: asyncio.Task[None] | None = None

    def put(self, item: _Item) -> None:
        self.queue.append(item)
        if self.worker is None or self.worker.done():
            self.worker = asyncio.create_task(self._work())

    @property
    def lag(self) -> int:
        """Events queued or being handled."""
        return len(self.queue) + len(self.handling)

    async def _work(self) -> None:
        while self.queue:
            self.handling, self.queue = self.queue, []
            await self.delivery.deliver(
                self.group, self.consumer, [envelope for envelope, _ in self.handling]
            )
            for _, done in self.handling:
                if not done.done():
                    done.set_result(None)
            self.handling = []


class InProcessBus:
    def __init__(self, partitions: int = 16, delivery: Delivery | None = None) -> None:
        self._partitions = partitions
        self._delivery = delivery or Delivery()
        self._groups: dict[str, list[list[_Partition]]] = {}

    def subscribe(self, topic: str, group: str, consumer: Consumer) -> None:
        parts = [_Partition(group, consumer, self._delivery) for _ in range(self._partitions)]
        self._groups.setdefault(topic, []).append(parts)

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future[None]] = []
        for env in envelopes:
            for parts in self._groups.get(env.topic, []):
                done: asyncio.Future[None] = loop.create_future()
                parts[zlib.crc32(env.order_id.encode()) % self._partitions].put((env, done))
                waits.append(done)
        if waits:
            await asyncio.gather(*waits)

    async def report_lag(self) -> None:
        """Set `market_consumer_lag` per group: events published and not yet handled."""
        lags: dict[str, int] = {}
        for groups in self._groups.values():
            for parts in groups:
                lags[parts[0].group] = lags.get(parts[0].group, 0) + sum(p.lag for p in parts)
        for group, lag in lags.items():
            LAG.labels(group).set(lag)

    async def stop(self) -> None:
        """Cancel the handlers in flight; their events' `publish` never returns, so the relay keeps them."""
        workers = [
            p.worker for groups in self._groups.values() for parts in groups for p in parts if p.worker
        ]
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
