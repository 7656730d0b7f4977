"""The SQL repository of Idempotency-Key uses (table `idempotency_keys`, primary key member + key)."""

from __future__ import annotations

from datetime import datetime

from market.kernel.clock import iso, parse_iso_required
from market.kernel.db import Row, Tx, insert_ignore
from market.order.domain import DONE, IN_FLIGHT, KeyUse

_KEY_COLUMNS = (
    "member_id, idem_key, fingerprint, state, status_code, response_body, created_at, updated_at, resource_id"
)


def _key_use(row: Row) -> KeyUse:
    return KeyUse(
        member_id=row["member_id"],
        key=row["idem_key"],
        fingerprint=row["fingerprint"],
        state=row["state"],
        created_at=parse_iso_required(row["created_at"]),
        updated_at=parse_iso_required(row["updated_at"]),
        status_code=row["status_code"],
        response_body=row["response_body"],
        resource_id=row["resource_id"],
    )


class SqlIdempotencyKeys:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def start(self, use: KeyUse) -> bool:
        # Insert first: of two concurrent first uses, exactly one inserts (no lock on a missing row).
        changed = await self._tx.execute(
            f"{insert_ignore(self._tx.dialect)} INTO idempotency_keys ({_KEY_COLUMNS})"
            " VALUES (:m, :k, :f, :s, NULL, NULL, :c, :u, :r)",
            {
                "m": use.member_id,
                "k": use.key,
                "f": use.fingerprint,
                "s": use.state,
                "c": iso(use.created_at),
                "u": iso(use.updated_at),
                "r": use.resource_id,
            },
        )
        return changed == 1

    async def get(self, member_id: str, key: str) -> KeyUse | None:
        row = await self._tx.fetchone(
            f"SELECT {_KEY_COLUMNS} FROM idempotency_keys WHERE member_id = :m AND idem_key = :k",
            {"m": member_id, "k": key},
        )
        return _key_use(row) if row else None

    async def take_over(
        self, abandoned: KeyUse, fingerprint: str, at: datetime, resource_id: str | None = None
    ) -> bool:
        changed = await self._tx.execute(
            "UPDATE idempotency_keys SET fingerprint = :f, updated_at = :u, resource_id = COALESCE(resource_id, :r)"
            " WHERE member_id = :m AND idem_key = :k AND state = :s AND updated_at = :seen",
            {
                "f": fingerprint,
                "u": iso(at),
                "r": resource_id,
                "m": abandoned.member_id,
                "k": abandoned.key,
                "s": IN_FLIGHT,
                "seen": iso(abandoned.updated_at),
            },
        )
        return changed == 1

    async def finish(self, member_id: str, key: str, status_code: int, body: str, at: datetime) -> None:
        await self._tx.write(
            "UPDATE idempotency_keys SET state = :done, status_code = :c, response_body = :b, updated_at = :u"
            " WHERE member_id = :m AND idem_key = :k AND state = :s",
            {
                "done": DONE,
                "c": status_code,
                "b": body,
                "u": iso(at),
                "m": member_id,
                "k": key,
                "s": IN_FLIGHT,
            },
        )

    async def forget(self, member_id: str, key: str) -> None:
        await self._tx.execute(
            "DELETE FROM idempotency_keys WHERE member_id = :m AND idem_key = :k", {"m": member_id, "k": key}
        )

    async def abandon(self, member_id: str, key: str, as_of: datetime) -> None:
        await self._tx.execute(
            "UPDATE idempotency_keys SET updated_at = :u WHERE member_id = :m AND idem_key = :k AND state = :s",
            {"u": iso(as_of), "m": member_id, "k": key, "s": IN_FLIGHT},
        )

    async def forget_unchanged(self, use: KeyUse) -> bool:
        changed = await self._tx.execute(
            "DELETE FROM idempotency_keys WHERE member_id = :m AND idem_key = :k AND updated_at = :seen",
            {"m": use.member_id, "k": use.key, "seen": iso(use.updated_at)},
        )
        return changed == 1

    async def abandoned_placements(self, before: datetime, limit: int) -> list[KeyUse]:
        rows = await self._tx.fetchall(
            f"SELECT {_KEY_COLUMNS} FROM idempotency_keys"
            " WHERE state = :s AND updated_at <= :before AND resource_id IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM orders WHERE orders.id = idempotency_keys.resource_id)"
            " ORDER BY updated_at LIMIT :n",
            {"s": IN_FLIGHT, "before": iso(before), "n": limit},
        )
        return [_key_use(r) for r in rows]

    async def forget_done_before(self, before: datetime) -> int:
        return await self._tx.execute(
            "DELETE FROM idempotency_keys WHERE state = :done AND updated_at < :before",
            {"done": DONE, "before": iso(before)},
        )
