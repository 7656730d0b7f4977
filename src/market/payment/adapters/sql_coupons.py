"""Coupon definitions and issued coupons over SQL."""

from __future__ import annotations

from datetime import datetime

from market.kernel.clock import iso
from market.kernel.coupons import AVAILABLE, USED, CouponDefinition, IssuedCoupon
from market.kernel.db import Tx
from market.payment.adapters.rows import definition_from_row, definition_to_row, issued_from_row

_DEFINITION = (
    "d.id, d.name, d.discount_type, d.discount_value, d.max_discount, d.min_order_amount, d.valid_from, "
    "d.valid_until"
)
_ISSUED = (
    "SELECT i.id AS issued_id, i.member_id, i.status, i.order_id, "
    f"{_DEFINITION} FROM issued_coupons i JOIN coupon_definitions d ON d.id = i.coupon_id"
)


def _issued(row: dict[str, object]) -> IssuedCoupon:
    definition = definition_from_row(row)
    return issued_from_row({**row, "id": row["issued_id"]}, definition)


class SqlCoupons:
    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    async def add_definition(self, definition: CouponDefinition, now: datetime) -> None:
        await self._tx.execute(
            "INSERT INTO coupon_definitions (id, name, discount_type, discount_value, max_discount, "
            "min_order_amount, valid_from, valid_until, created_at) VALUES (:id, :name, :discount_type, "
            ":discount_value, :max_discount, :min_order_amount, :valid_from, :valid_until, :created_at)",
            {**definition_to_row(definition), "created_at": iso(now)},
        )

    async def get_definition(self, coupon_id: str) -> CouponDefinition | None:
        row = await self._tx.fetchone(
            f"SELECT {_DEFINITION} FROM coupon_definitions d WHERE d.id = :id", {"id": coupon_id}
        )
        return None if row is None else definition_from_row(row)

    async def issue(self, coupon: IssuedCoupon, now: datetime) -> None:
        await self._tx.execute(
            "INSERT INTO issued_coupons (id, coupon_id, member_id, status, order_id, issued_at, used_at) "
            "VALUES (:id, :c, :m, :s, :o, :t, NULL)",
            {
                "id": coupon.id,
                "c": coupon.definition.id,
                "m": coupon.member_id,
                "s": coupon.status,
                "o": coupon.order_id,
                "t": iso(now),
            },
        )

    async def get_issued(self, issued_id: str) -> IssuedCoupon | None:
        row = await self._tx.fetchone(f"{_ISSUED} WHERE i.id = :id", {"id": issued_id})
        return None if row is None else _issued(row)

    async def issued_to(self, member_id: str, limit: int, before: str | None = None) -> list[IssuedCoupon]:
        after_cursor = " AND i.id < :before" if before is not None else ""
        rows = await self._tx.fetchall(
            f"{_ISSUED} WHERE i.member_id = :m{after_cursor} ORDER BY i.id DESC LIMIT :n",
            {"m": member_id, "before": before, "n": limit},
        )
        return [_issued(r) for r in rows]

    async def redeem(self, issued_id: str, member_id: str, order_id: str, now: datetime) -> bool:
        changed = await self._tx.execute(
            "UPDATE issued_coupons SET status = :used, order_id = :o, used_at = :t "
            "WHERE id = :id AND member_id = :m AND status = :available",
            {
                "used": USED,
                "available": AVAILABLE,
                "o": order_id,
                "t": iso(now),
                "id": issued_id,
                "m": member_id,
            },
        )
        if changed == 1:
            return True
        row = await self._tx.fetchone(
            "SELECT status, order_id FROM issued_coupons WHERE id = :id", {"id": issued_id}
        )
        return row is not None and row["status"] == USED and row["order_id"] == order_id

    async def restore(self, issued_id: str, order_id: str) -> bool:
        changed = await self._tx.execute(
            "UPDATE issued_coupons SET status = :available, order_id = NULL, used_at = NULL "
            "WHERE id = :id AND status = :used AND order_id = :o",
            {"used": USED, "available": AVAILABLE, "o": order_id, "id": issued_id},
        )
        return changed == 1
