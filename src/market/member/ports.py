"""What the member use cases need from the outside: persistence, password hashing, token issuing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from market.member.domain import LedgerEntry, Member


class MemberRepository(Protocol):
    async def add(self, member: Member, password_hash: str) -> bool:
        """Store a new member; False (nothing stored) when its email is already taken."""
        ...

    async def get(self, member_id: str, for_update: bool = False) -> Member | None:
        """The member, or None; `for_update` locks its row until the unit of work ends."""
        ...

    async def credentials(self, email: str) -> tuple[Member, str] | None:
        """The member with this (normalised) email and its password hash, or None."""
        ...

    async def set_profile(self, member_id: str, name: str, locale: str) -> bool:
        """Change the member's name and locale; False when there is no such member."""
        ...

    async def set_standing(self, member_id: str, role: str, status: str) -> bool:
        """Change the member's role and status; False when there is no such member."""
        ...

    async def add_points(self, member_id: str, delta: int) -> bool:
        """Move the balance by `delta` (non-zero) unless it would go below 0; whether it moved.

        The caller holds the member's row lock (`get(..., for_update=True)`), so it knows the new balance.
        """
        ...


class LedgerRepository(Protocol):
    async def add(self, entry: LedgerEntry) -> bool:
        """Record an entry; False (nothing recorded) when its order already has an entry of its kind and
        refund id."""
        ...

    async def of_order(self, order_id: str) -> list[LedgerEntry]:
        """The entries recorded for an order (at most one per kind and refund id), oldest first."""
        ...

    async def newest(self, member_id: str, limit: int, cursor: str | None) -> list[LedgerEntry]:
        """Up to `limit` entries that moved the member's balance, newest first, older than `cursor`."""
        ...


class AttemptCounters(Protocol):
    """Counts of attempts (failed logins, sign-ups) per key and window, shared by every replica."""

    async def counts(self, keys: Sequence[str], window: datetime) -> dict[str, int]:
        """Each key's count in the window that starts at `window` (0 when none)."""
        ...

    async def add(self, keys: Sequence[str], window: datetime) -> None:
        """Count one attempt more for each key in that window (atomically, whatever other replicas do)."""
        ...

    async def clear(self, key: str) -> None:
        """Forget the key's counts (a successful login clears its email's failures)."""
        ...

    async def forget_before(self, window: datetime) -> int:
        """Forget the counts of windows that started before `window`; how many."""
        ...


class UnitOfWork(Protocol):
    """One transaction: commits when its block ends normally, rolls back when it raises."""

    @property
    def members(self) -> MemberRepository: ...

    @property
    def ledger(self) -> LedgerRepository: ...

    @property
    def attempts(self) -> AttemptCounters: ...


UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str:
        """A salted, slow hash of the password, safe to store."""
        ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether the password matches the stored hash."""
        ...


class TokenIssuer(Protocol):
    def issue(self, member: Member) -> tuple[str, int]:
        """A signed access token for the member and its lifetime in seconds."""
        ...
