"""The embedded mode's event transport: an in-process bus with Kafka's delivery semantics.

Each consumer group gets its own partitions (by order id, so one order's events stay in order), and a
partition handles one event at a time, like a Kafka consumer's, except that a handler waiting on the PG
steps aside for the partition's other orders (`market.infra.lanes`). `publish` returns once every
group has handled the events, so the outbox row is removed only after its effect is committed — a
crash before that republishes it, and inboxes skip duplicates.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from market.infra.lanes import KeyedLanes
from market.kernel.events import Envelope
from market.kernel.messaging import Handler

log = logging.getLogger("market.bus")


@dataclass
class _Group:
    name: str
    handler: Handler
    partitions: list[KeyedLanes]


class InProcessBus:
    def __init__(self, partitions: int = 16, retry_backoff: float = 0.2, max_backoff: float = 5.0) -> None:
        self._partitions = partitions
        self._retry_backoff = retry_backoff
        self._max_backoff = max_backoff
        self._groups: dict[str, list[_Group]] = {}

    def subscribe(self, topic: str, group: str, handler: Handler) -> None:
        self._groups.setdefault(topic, []).append(
            _Group(group, handler, [KeyedLanes() for _ in range(self._partitions)])
        )

    async def start(self) -> None:
        """Nothing to start: a group's lanes run as events arrive."""

    async def stop(self) -> None:
        """Cancel the handlers in flight; their events' `publish` never returns, so the relay keeps them."""
        await asyncio.gather(
            *(p.cancel() for groups in self._groups.values() for g in groups for p in g.partitions)
        )

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future[None]] = []
        for env in envelopes:
            for g in self._groups.get(env.topic, []):
                done: asyncio.Future[None] = loop.create_future()
                partition = g.partitions[zlib.crc32(env.order_id.encode()) % self._partitions]
                partition.submit(env.order_id, partial(self._deliver, g, env, done))
                waits.append(done)
        if waits:
            await asyncio.gather(*waits)

    async def _deliver(self, group: _Group, env: Envelope, done: asyncio.Future[None]) -> None:
        backoff = self._retry_backoff
        while True:
            try:
                await group.handler(env)
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                # Like a Kafka consumer that does not commit: the same event again, later.
                log.exception("consumer %s failed on %s %s; retrying", group.name, env.type, env.event_id)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
        if not done.done():
            done.set_result(None)
