"""In-memory member repositories: the fakes the unit tests run on, with the SQL adapter's behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from market.infra.memory import snapshot_uow
from market.member.domain import LedgerEntry, Member


@dataclass
class MemberState:
    """Everything the member database holds; a unit of work restores a copy when its block raises."""

    members: dict[str, Member] = field(default_factory=dict)
    password_hashes: dict[str, str] = field(default_factory=dict)
    ledger: dict[str, LedgerEntry] = field(default_factory=dict)
    attempts: dict[tuple[str, datetime], int] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def snapshot(self) -> tuple[Any, ...]:
        # The values are frozen dataclasses, strings and numbers: copying the dicts is enough.
        return dict(self.members), dict(self.password_hashes), dict(self.ledger), dict(self.attempts)

    def restore(self, snap: tuple[Any, ...]) -> None:
        self.members, self.password_hashes, self.ledger, self.attempts = snap


class MemoryMembers:
    def __init__(self, state: MemberState) -> None:
        self._s = state

    async def add(self, member: Member, password_hash: str) -> bool:
        if member.id in self._s.members or any(m.email == member.email for m in self._s.members.values()):
            return False
        self._s.members[member.id] = member
        self._s.password_hashes[member.id] = password_hash
        return True

    async def get(self, member_id: str, for_update: bool = False) -> Member | None:
        return self._s.members.get(member_id)

    async def credentials(self, email: str) -> tuple[Member, str] | None:
        member = next((m for m in self._s.members.values() if m.email == email), None)
        return (member, self._s.password_hashes[member.id]) if member else None

    async def set_profile(self, member_id: str, name: str, locale: str) -> bool:
        return self._change(member_id, name=name, locale=locale)

    async def set_standing(self, member_id: str, role: str, status: str) -> bool:
        return self._change(member_id, role=role, status=status)

    def _change(self, member_id: str, **fields: Any) -> bool:
        member = self._s.members.get(member_id)
        if member is None:
            return False
        self._s.members[member_id] = replace(member, **fields)
        return True

    async def add_points(self, member_id: str, delta: int) -> bool:
        member = self._s.members.get(member_id)
        if member is None or member.point_balance < max(0, -delta):
            return False
        self._s.members[member_id] = replace(member, point_balance=member.point_balance + delta)
        return True


class MemoryLedger:
    def __init__(self, state: MemberState) -> None:
        self._s = state

    async def add(self, entry: LedgerEntry) -> bool:
        if entry.id in self._s.ledger:
            return False
        # Like SQL's UNIQUE (order_id, kind, refund_id): NULL order ids never collide.
        if entry.order_id is not None and any(
            (e.kind, e.refund_id) == (entry.kind, entry.refund_id)
            for e in await self.of_order(entry.order_id)
        ):
            return False
        self._s.ledger[entry.id] = entry
        return True

    async def of_order(self, order_id: str) -> list[LedgerEntry]:
        return sorted((e for e in self._s.ledger.values() if e.order_id == order_id), key=lambda e: e.id)

    async def newest(self, member_id: str, limit: int, cursor: str | None) -> list[LedgerEntry]:
        entries = [
            e
            for e in self._s.ledger.values()
            if e.member_id == member_id and e.delta != 0 and (cursor is None or e.id < cursor)
        ]
        return sorted(entries, key=lambda e: e.id, reverse=True)[:limit]


class MemoryAttempts:
    def __init__(self, state: MemberState) -> None:
        self._s = state

    async def counts(self, keys: Sequence[str], window: datetime) -> dict[str, int]:
        return {key: self._s.attempts.get((key, window), 0) for key in keys}

    async def add(self, keys: Sequence[str], window: datetime) -> None:
        for key in keys:
            self._s.attempts[key, window] = self._s.attempts.get((key, window), 0) + 1

    async def clear(self, key: str) -> None:
        for found in [k for k in self._s.attempts if k[0] == key]:
            del self._s.attempts[found]

    async def forget_before(self, window: datetime) -> int:
        old = [k for k in self._s.attempts if k[1] < window]
        for found in old:
            del self._s.attempts[found]
        return len(old)


class MemoryUnitOfWork:
    def __init__(self, state: MemberState) -> None:
        self.members = MemoryMembers(state)
        self.ledger = MemoryLedger(state)
        self.attempts = MemoryAttempts(state)


def memory_uow(
    state: MemberState | None = None,
) -> Callable[[], AbstractAsyncContextManager[MemoryUnitOfWork]]:
    """A unit-of-work factory over `state` (a fresh one if not given); blocks never interleave."""
    return snapshot_uow(state if state is not None else MemberState(), MemoryUnitOfWork)
