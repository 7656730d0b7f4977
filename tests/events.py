"""Envelopes for tests, with any payload: the transports carry them whatever they hold (the services read
typed payloads, `market.kernel.events`, and skip what does not fit)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from market.kernel import codec
from market.kernel.clock import iso
from market.kernel.events import Envelope


def event(type_: str, order_id: str, at: datetime, **payload: Any) -> Envelope:
    return Envelope(type=type_, order_id=order_id, payload=codec.plain(payload), occurred_at=iso(at) or "")


class Consuming:
    """A consumer (`market.kernel.messaging.Consumer`) that hands each event to `fn`, a batch in order, and
    remembers the batches' sizes."""

    def __init__(self, fn: Callable[[Envelope], Awaitable[None]]) -> None:
        self.fn = fn
        self.batches: list[int] = []

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        self.batches.append(len(envelopes))
        for envelope in envelopes:
            await self.fn(envelope)

    async def handle(self, envelope: Envelope) -> None:
        await self.fn(envelope)
