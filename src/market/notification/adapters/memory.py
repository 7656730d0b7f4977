"""In-memory notices: the fake the unit tests run on, with the SQL adapter's behaviour (claims included)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime

from market.infra.memory import snapshot_uow
from market.notification.domain import Notice, State

Claims = dict[str, tuple[str, datetime]]


@dataclass
class NotificationState:
    """Everything the notification database holds; a unit of work restores a copy when its block raises."""

    notices: dict[str, Notice] = field(default_factory=dict)
    claims: Claims = field(default_factory=dict)  # event id → (replica, until)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def snapshot(self) -> tuple[dict[str, Notice], Claims]:
        return dict(self.notices), dict(self.claims)  # frozen values: copying the dicts is enough

    def restore(self, snap: tuple[dict[str, Notice], Claims]) -> None:
        self.notices, self.claims = snap


class MemoryNotices:
    def __init__(self, state: NotificationState) -> None:
        self._s = state

    async def add(self, notices: Sequence[Notice]) -> int:
        added = 0
        for notice in notices:
            if notice.event_id not in self._s.notices:
                self._s.notices[notice.event_id] = notice
                added += 1
        return added

    async def due(self, now: datetime, limit: int) -> list[str]:
        due = [n for n in self._s.notices.values() if self._claimable(n, now)]
        return [n.event_id for n in sorted(due, key=lambda n: n.next_attempt_at)][:limit]

    async def claim(self, event_id: str, replica: str, now: datetime, until: datetime) -> Notice | None:
        notice = self._s.notices.get(event_id)
        if notice is None or not self._claimable(notice, now):
            return None
        self._s.claims[event_id] = (replica, until)
        return notice

    async def release(self, notice: Notice, replica: str) -> bool:
        claim = self._s.claims.get(notice.event_id)
        if claim is None or claim[0] != replica:
            return False
        del self._s.claims[notice.event_id]
        self._s.notices[notice.event_id] = notice
        return True

    async def get(self, event_id: str) -> Notice | None:
        return self._s.notices.get(event_id)

    def _claimable(self, notice: Notice, now: datetime) -> bool:
        claim = self._s.claims.get(notice.event_id)
        return (
            notice.state is State.PENDING
            and notice.next_attempt_at <= now
            and (claim is None or claim[1] < now)
        )


class MemoryUnitOfWork:
    def __init__(self, state: NotificationState) -> None:
        self.notices = MemoryNotices(state)


def memory_uow(
    state: NotificationState | None = None,
) -> Callable[[], AbstractAsyncContextManager[MemoryUnitOfWork]]:
    """A unit-of-work factory over `state` (a fresh one if not given); blocks never interleave."""
    return snapshot_uow(state if state is not None else NotificationState(), MemoryUnitOfWork)
