"""Coupons: FIXED (won off) or PERCENT (with an optional cap), a minimum order amount, a validity window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FIXED = "FIXED"
PERCENT = "PERCENT"
AVAILABLE = "AVAILABLE"
USED = "USED"
EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class CouponDefinition:
    id: str
    name: str
    discount_type: str
    discount_value: int
    max_discount: int | None
    min_order_amount: int
    valid_from: datetime
    valid_until: datetime

    def discount_for(self, order_total: int) -> int:
        """What this coupon takes off an order of `order_total` won (never more than the total)."""
        if self.discount_type == FIXED:
            amount = self.discount_value
        else:
            amount = order_total * self.discount_value // 100
            if self.max_discount is not None:
                amount = min(amount, self.max_discount)
        return max(0, min(amount, order_total))

    def valid_at(self, when: datetime) -> bool:
        return self.valid_from <= when < self.valid_until


@dataclass(frozen=True)
class IssuedCoupon:
    """A coupon handed to one member; `status` is what is stored (AVAILABLE or USED)."""

    id: str
    definition: CouponDefinition
    member_id: str
    status: str
    order_id: str | None = None

    def status_at(self, when: datetime) -> str:
        if self.status == AVAILABLE and not self.definition.valid_at(when):
            return EXPIRED
        return self.status

    def applicable(
        self, member_id: str, order_total: int, when: datetime, order_id: str | None = None
    ) -> bool:
        """Belongs to the member, unused (or already held by this very order), valid now, minimum reached."""
        held_by_this_order = order_id is not None and self.status == USED and self.order_id == order_id
        return (
            self.member_id == member_id
            and (self.status == AVAILABLE or held_by_this_order)
            and self.definition.valid_at(when)
            and order_total >= self.definition.min_order_amount
        )


def definition_problem(d: CouponDefinition) -> str | None:
    """Why an admin's coupon definition cannot be accepted, or None when it can."""
    if d.discount_type not in (FIXED, PERCENT):
        return "discount_type is FIXED or PERCENT"
    if d.discount_type == FIXED and d.discount_value < 1:
        return "a FIXED coupon takes at least 1 won off"
    if d.discount_type == PERCENT and not 1 <= d.discount_value <= 100:
        return "a PERCENT coupon takes 1 to 100 percent off"
    if d.max_discount is not None and d.discount_type != PERCENT:
        return "max_discount only caps a PERCENT coupon"
    if d.max_discount is not None and d.max_discount < 1:
        return "max_discount is at least 1 won"
    if d.min_order_amount < 0:
        return "min_order_amount cannot be negative"
    if d.valid_from >= d.valid_until:
        return "valid_from must be before valid_until"
    return None
