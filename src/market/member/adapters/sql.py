"""The member repositories over SQL (SQLite embedded, MariaDB distributed)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from market.kernel.clock import Clock, iso, parse_iso_required
from market.kernel.db import Database, Row, Tx, insert_ignore, transaction_uow
from market.kernel.db import for_update as lock_clause
from market.member.domain import LedgerEntry, Member

_MEMBER_COLUMNS = "id, email, name, role, status, point_balance, created_at, locale"
_LEDGER_COLUMNS = "id, member_id, delta, balance_after, reason, order_id, kind, created_at, refund_id"


def _member(row: Row) -> Member:
    return Member(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=row["role"],
        status=row["status"],
        point_balance=int(row["point_balance"]),
        created_at=parse_iso_required(row["created_at"]),
        locale=row["locale"],
    )


def _entry(row: Row) -> LedgerEntry:
    return LedgerEntry(
        id=row["id"],
        member_id=row["member_id"],
        delta=int(row["delta"]),
        balance_after=int(row["balance_after"]),
        reason=row["reason"],
        order_id=row["order_id"],
        kind=row["kind"],
        created_at=parse_iso_required(row["created_at"]),
        refund_id=row["refund_id"],
    )


class SqlMembers:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, member: Member, password_hash: str) -> bool:
        changed = await self._tx.execute(
            f"{insert_ignore(self._tx.dialect)} INTO members ({_MEMBER_COLUMNS}, password_hash) "
            "VALUES (:id, :email, :name, :role, :status, :point_balance, :created_at, :locale, :password_hash)",
            {**_member_params(member), "password_hash": password_hash},
        )
        return changed == 1

    async def get(self, member_id: str, for_update: bool = False) -> Member | None:
        lock = lock_clause(self._tx.dialect) if for_update else ""
        row = await self._tx.fetchone(
            f"SELECT {_MEMBER_COLUMNS} FROM members WHERE id = :id{lock}", {"id": member_id}
        )
        return _member(row) if row else None

    async def credentials(self, email: str) -> tuple[Member, str] | None:
        row = await self._tx.fetchone(
            f"SELECT {_MEMBER_COLUMNS}, password_hash FROM members WHERE email = :email", {"email": email}
        )
        return (_member(row), row["password_hash"]) if row else None

    async def set_profile(self, member_id: str, name: str, locale: str) -> bool:
        changed = await self._tx.execute(
            "UPDATE members SET name = :name, locale = :locale WHERE id = :id",
            {"id": member_id, "name": name, "locale": locale},
        )
        return changed == 1

    async def set_standing(self, member_id: str, role: str, status: str) -> bool:
        changed = await self._tx.execute(
            "UPDATE members SET role = :role, status = :status WHERE id = :id",
            {"id": member_id, "role": role, "status": status},
        )
        return changed == 1

    async def add_points(self, member_id: str, delta: int) -> bool:
        changed = await self._tx.execute(
            "UPDATE members SET point_balance = point_balance + :delta WHERE id = :id AND point_balance >= :need",
            {"id": member_id, "delta": delta, "need": max(0, -delta)},
        )
        return changed == 1


class SqlLedger:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, entry: LedgerEntry) -> bool:
        changed = await self._tx.execute(
            f"{insert_ignore(self._tx.dialect)} INTO point_ledger ({_LEDGER_COLUMNS}) VALUES "
            "(:id, :member_id, :delta, :balance_after, :reason, :order_id, :kind, :created_at, :refund_id)",
            {**entry.__dict__, "created_at": iso(entry.created_at)},
        )
        return changed == 1

    async def of_order(self, order_id: str) -> list[LedgerEntry]:
        # One look-up for every kind: served by the (order_id, kind, refund_id) unique index's prefix.
        rows = await self._tx.fetchall(
            f"SELECT {_LEDGER_COLUMNS} FROM point_ledger WHERE order_id = :order_id ORDER BY id",
            {"order_id": order_id},
        )
        return [_entry(r) for r in rows]

    async def newest(self, member_id: str, limit: int, cursor: str | None) -> list[LedgerEntry]:
        after = " AND id < :cursor" if cursor else ""
        rows = await self._tx.fetchall(
            f"SELECT {_LEDGER_COLUMNS} FROM point_ledger WHERE member_id = :member_id AND delta <> 0{after} "
            "ORDER BY id DESC LIMIT :limit",
            {"member_id": member_id, "cursor": cursor, "limit": limit},
        )
        return [_entry(r) for r in rows]


class SqlAttempts:
    """Attempt counters in `attempts`: one row per (key, window), counted up by one statement (an upsert),
    so that replicas counting the same key at once lose no count."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def counts(self, keys: Sequence[str], window: datetime) -> dict[str, int]:
        marks = ", ".join(f":k{i}" for i in range(len(keys)))
        rows = await self._tx.fetchall(
            f"SELECT attempt_key, attempts FROM attempts WHERE window_start = :w AND attempt_key IN ({marks})",
            {"w": iso(window), **{f"k{i}": key for i, key in enumerate(keys)}},
        )
        found = {r["attempt_key"]: int(r["attempts"]) for r in rows}
        return {key: found.get(key, 0) for key in keys}

    async def add(self, keys: Sequence[str], window: datetime) -> None:
        upsert = (
            "ON CONFLICT (attempt_key, window_start) DO UPDATE SET attempts = attempts + 1"
            if self._tx.dialect == "sqlite"
            else "ON DUPLICATE KEY UPDATE attempts = attempts + 1"
        )
        for key in keys:
            await self._tx.execute(
                f"INSERT INTO attempts (attempt_key, window_start, attempts) VALUES (:k, :w, 1) {upsert}",
                {"k": key, "w": iso(window)},
            )

    async def clear(self, key: str) -> None:
        await self._tx.execute("DELETE FROM attempts WHERE attempt_key = :k", {"k": key})

    async def forget_before(self, window: datetime) -> int:
        return await self._tx.execute("DELETE FROM attempts WHERE window_start < :w", {"w": iso(window)})


def _member_params(member: Member) -> dict[str, Any]:
    return {**member.__dict__, "created_at": iso(member.created_at)}


class SqlUnitOfWork:
    def __init__(self, tx: Tx) -> None:
        self.members = SqlMembers(tx)
        self.ledger = SqlLedger(tx)
        self.attempts = SqlAttempts(tx)


def sql_uow(
    db: Database, clock: Clock, outbox_wake: asyncio.Event | None = None
) -> Callable[[], AbstractAsyncContextManager[SqlUnitOfWork]]:
    """The member service's unit-of-work factory over `db` (member has no outbox: `outbox_wake` is unused)."""

    return transaction_uow(db, SqlUnitOfWork)
