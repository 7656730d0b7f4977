"""What every service's in-memory fakes share: a unit of work that undoes a failed block, inbox and outbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, TypeVar

from market.kernel.events import Envelope

Snap = TypeVar("Snap")
State = TypeVar("State", bound="Snapshotting[Any]")
UoW = TypeVar("UoW")


class Snapshotting(Protocol[Snap]):
    """A fake database: one lock for its transactions, and a copy of its contents to roll back to."""

    lock: asyncio.Lock

    def snapshot(self) -> Snap: ...

    def restore(self, snap: Snap) -> None: ...


def snapshot_uow(
    state: State, make: Callable[[State], UoW]
) -> Callable[[], AbstractAsyncContextManager[UoW]]:
    """A unit-of-work factory over `state`: blocks never interleave, and one that raises leaves no trace."""

    @asynccontextmanager
    async def uow() -> AsyncIterator[UoW]:
        async with state.lock:
            snap = state.snapshot()
            try:
                yield make(state)
            except BaseException:
                state.restore(snap)
                raise

    return uow


class MemoryInbox:
    """The consumer inbox as a set of event ids (the state's live set: a rollback swaps it back whole)."""

    def __init__(self, ids: set[str]) -> None:
        self._ids = ids

    async def claim(self, envelope: Envelope) -> bool:
        if envelope.event_id in self._ids:
            return False
        self._ids.add(envelope.event_id)
        return True


class MemoryOutbox:
    """The transactional outbox as the list of events committed so far."""

    def __init__(self, events: list[Envelope]) -> None:
        self._events = events

    async def add(self, envelope: Envelope) -> None:
        self._events.append(envelope)
