"""The embedded mode's event transport: an in-process bus with Kafka's delivery semantics.

Each consumer group gets its own partitions (by order id, so one order's events stay in order);
`publish` returns once every group has handled the events, so the outbox row is removed only
after its effect is committed — a crash before that republishes it, and inboxes skip duplicates.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from market.kernel.events import Envelope
from market.kernel.messaging import Handler

log = logging.getLogger("market.bus")


@dataclass
class _Group:
    name: str
    handler: Handler
    partitions: list[asyncio.Queue[tuple[Envelope, asyncio.Future[None]]]] = field(default_factory=list)
    workers: list[asyncio.Task[None]] = field(default_factory=list)


class InProcessBus:
    def __init__(self, partitions: int = 16, retry_backoff: float = 0.2, max_backoff: float = 5.0) -> None:
        self._partitions = partitions
        self._retry_backoff = retry_backoff
        self._max_backoff = max_backoff
        self._groups: dict[str, list[_Group]] = {}

    def subscribe(self, topic: str, group: str, handler: Handler) -> None:
        g = _Group(group, handler, [asyncio.Queue() for _ in range(self._partitions)])
        self._groups.setdefault(topic, []).append(g)

    async def start(self) -> None:
        for groups in self._groups.values():
            for g in groups:
                g.workers = [asyncio.create_task(self._work(g, q)) for q in g.partitions]

    async def stop(self) -> None:
        tasks = [t for groups in self._groups.values() for g in groups for t in g.workers]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future[None]] = []
        for env in envelopes:
            for g in self._groups.get(env.topic, []):
                done: asyncio.Future[None] = loop.create_future()
                g.partitions[zlib.crc32(env.order_id.encode()) % self._partitions].put_nowait((env, done))
                waits.append(done)
        if waits:
            await asyncio.gather(*waits)

    async def _work(self, group: _Group, queue: asyncio.Queue[tuple[Envelope, asyncio.Future[None]]]) -> None:
        while True:
            env, done = await queue.get()
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
