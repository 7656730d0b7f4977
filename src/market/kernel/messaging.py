"""Ports of the transactional outbox, the consumer inbox and the event transport."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from market.kernel.events import Envelope

Handler = Callable[[Envelope], Awaitable[None]]


class Outbox(Protocol):
    async def add(self, envelope: Envelope) -> None:
        """Record an event in the same transaction as the state change it announces."""
        ...


class Inbox(Protocol):
    async def claim(self, envelope: Envelope) -> bool:
        """Record the event as processed in this transaction; False if it already was (skip it)."""
        ...


class OutboxStore(Protocol):
    """What the relay needs of a service's outbox table, outside any business transaction."""

    async def pending(
        self, limit: int, skip: frozenset[int], remove: Sequence[int] = ()
    ) -> list[tuple[int, Envelope]]:
        """Delete the rows `remove` (published), then the first `limit` rows not in `skip`: one transaction."""
        ...

    async def backlog(self) -> int: ...


class Publisher(Protocol):
    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Return once the transport has taken responsibility for every envelope (at least once)."""
        ...


class Subscriber(Protocol):
    def subscribe(self, topic: str, group: str, handler: Handler) -> None:
        """Deliver every event of `topic` to `handler`, once per consumer group, in order per order id."""
        ...
