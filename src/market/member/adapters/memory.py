"""In-memory member repositories: the fakes the unit tests run on, with the SQL adapter's behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace

from market.infra.memory import snapshot_uow
from market.member.domain import LedgerEntry, Member


@dataclass
class MemberState:
    """Everything the member database holds; a unit of work restores a copy when its block raises."""

    members: dict[str, Member] = field(default_factory=dict)
    password_hashes: dict[str, str] = field(default_factory=dict)
    ledger: dict[str, LedgerEntry] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def snapshot(self) -> tuple[dict[str, Member], dict[str, str], dict[str, LedgerEntry]]:
        # The values are frozen dataclasses and strings: copying the dicts is enough.
        return dict(self.members), dict(self.password_hashes), dict(self.ledger)

    def restore(self, snap: tuple[dict[str, Member], dict[str, str], dict[str, LedgerEntry]]) -> None:
        self.members, self.password_hashes, self.ledger = snap


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
        member = self._s.members.get(member_id)
        if member is None:
            return False
        self._s.members[member_id] = replace(member, name=name, locale=locale)
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


class MemoryUnitOfWork:
    def __init__(self, state: MemberState) -> None:
        self.members = MemoryMembers(state)
        self.ledger = MemoryLedger(state)


def memory_uow(
    state: MemberState | None = None,
) -> Callable[[], AbstractAsyncContextManager[MemoryUnitOfWork]]:
    """A unit-of-work factory over `state` (a fresh one if not given); blocks never interleave."""
    return snapshot_uow(state if state is not None else MemberState(), MemoryUnitOfWork)
