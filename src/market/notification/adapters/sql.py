"""The notices over SQL (SQLite embedded, MariaDB distributed).

Replicas share the table; a sender takes a notice with a conditional UPDATE (pending, due, and unclaimed
or its claim expired), which only one of two racing senders can win: on MariaDB the loser's UPDATE waits
for the winner's row lock and then finds the claim taken; on SQLite writers are serialised anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

import orjson

from market.kernel.clock import iso, parse_iso, parse_iso_required
from market.kernel.db import Database, Row, Tx, insert_ignore, transaction_uow
from market.notification.domain import Notice, State

_COLUMNS = (
    "event_id, kind, order_id, member_id, facts, occurred_at, state, attempts, next_attempt_at, sent_at, "
    "last_error"
)
_FIELDS = [c.strip() for c in _COLUMNS.split(",")]
_CHUNK = 100  # rows per INSERT: well under SQLite's and MariaDB's limits on parameters
_CLAIMABLE = "state = 'PENDING' AND next_attempt_at <= :now AND (claim_until IS NULL OR claim_until < :now)"


def _notice(row: Row) -> Notice:
    return Notice(
        event_id=row["event_id"],
        kind=row["kind"],
        order_id=row["order_id"],
        member_id=row["member_id"],
        facts=orjson.loads(row["facts"]),
        occurred_at=parse_iso_required(row["occurred_at"]),
        next_attempt_at=parse_iso_required(row["next_attempt_at"]),
        state=State(row["state"]),
        attempts=int(row["attempts"]),
        sent_at=parse_iso(row["sent_at"]),
        last_error=row["last_error"],
    )


def _params(notice: Notice) -> dict[str, Any]:
    return {
        **notice.__dict__,
        "facts": orjson.dumps(notice.facts).decode(),
        "occurred_at": iso(notice.occurred_at),
        "next_attempt_at": iso(notice.next_attempt_at),
        "state": notice.state.value,
        "sent_at": iso(notice.sent_at),
    }


class SqlNotices:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add(self, notices: Sequence[Notice]) -> int:
        added = 0
        for start in range(0, len(notices), _CHUNK):
            chunk = notices[start : start + _CHUNK]
            rows = ", ".join("(" + ", ".join(f":{f}{i}" for f in _FIELDS) + ")" for i in range(len(chunk)))
            params = {f"{k}{i}": v for i, n in enumerate(chunk) for k, v in _params(n).items()}
            added += await self._tx.execute(
                f"{insert_ignore(self._tx.dialect)} INTO notifications ({_COLUMNS}) VALUES {rows}", params
            )
        return added

    async def due(self, now: datetime, limit: int) -> list[str]:
        rows = await self._tx.fetchall(
            f"SELECT event_id FROM notifications WHERE {_CLAIMABLE} ORDER BY next_attempt_at LIMIT :n",
            {"now": iso(now), "n": limit},
        )
        return [r["event_id"] for r in rows]

    async def claim(self, event_id: str, replica: str, now: datetime, until: datetime) -> Notice | None:
        claimed = await self._tx.execute(
            "UPDATE notifications SET claimed_by = :me, claim_until = :until "
            f"WHERE event_id = :id AND {_CLAIMABLE}",
            {"id": event_id, "me": replica, "until": iso(until), "now": iso(now)},
        )
        return await self.get(event_id) if claimed == 1 else None

    async def release(self, notice: Notice, replica: str) -> bool:
        params = _params(notice)
        changed = await self._tx.execute(
            "UPDATE notifications SET state = :state, attempts = :attempts, next_attempt_at = :next_attempt_at, "
            "sent_at = :sent_at, last_error = :last_error, claimed_by = NULL, claim_until = NULL "
            "WHERE event_id = :event_id AND claimed_by = :me",
            {
                k: params[k]
                for k in ("state", "attempts", "next_attempt_at", "sent_at", "last_error", "event_id")
            }
            | {"me": replica},
        )
        return changed == 1

    async def get(self, event_id: str) -> Notice | None:
        row = await self._tx.fetchone(
            f"SELECT {_COLUMNS} FROM notifications WHERE event_id = :id", {"id": event_id}
        )
        return _notice(row) if row else None


class SqlUnitOfWork:
    def __init__(self, tx: Tx) -> None:
        self.notices = SqlNotices(tx)


def sql_uow(db: Database) -> Callable[[], AbstractAsyncContextManager[SqlUnitOfWork]]:
    """The notification worker's unit-of-work factory over `db`."""
    return transaction_uow(db, SqlUnitOfWork)
