"""Ports of the transactional outbox, the consumer inbox and the event transport."""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from market.kernel.events import Envelope

Publish = Callable[[Sequence[Envelope]], Awaitable[None]]
# The context to run work an event starts in the background in: the transport's, with the event's trace
# and order id in it (infra.tracing.event_context), whatever batch the event came in.
EventContext = Callable[[Envelope], contextvars.Context]


def current_context(_: Envelope) -> contextvars.Context:
    """The `EventContext` that knows nothing of traces: a copy of the current context."""
    return contextvars.copy_context()


class Outbox(Protocol):
    async def add(self, envelope: Envelope) -> None:
        """Record an event in the same transaction as the state change it announces."""
        ...


class Inbox(Protocol):
    async def claim(self, envelope: Envelope) -> bool:
        """Record the event as processed in this transaction; False if it already was (skip it)."""
        ...


class Consumer(Protocol):
    """A service's side of a subscription: a poll's events at once, or one event at a time."""

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        """Handle the events (in order per order id) in one transaction: all of them or, raising, none."""
        ...

    async def handle(self, envelope: Envelope) -> None:
        """Handle one event in its own transaction (a batch that failed is retried one event at a time)."""
        ...


class DeadLetters(Protocol):
    """Where an event goes whose handler kept failing: kept with the error, for an operator to replay."""

    async def add(self, group: str, envelope: Envelope, error: str, attempts: int) -> None: ...


class OutboxStore(Protocol):
    """What the relay needs of a service's outbox table, outside any business transaction."""

    async def relay(self, limit: int, publish: Publish) -> int:
        """Publish up to `limit` of the oldest rows no other relay holds, then delete them; how many."""
        ...

    async def backlog(self) -> int: ...


class Publisher(Protocol):
    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Return once the transport has taken responsibility for every envelope (at least once)."""
        ...


class Subscriber(Protocol):
    def subscribe(self, topic: str, group: str, consumer: Consumer) -> None:
        """Deliver every event of `topic` to `consumer`, once per consumer group, in order per order id."""
        ...
