"""The coupon facts that order and payment share: a definition's terms and a member's issued coupon.

The payment service owns coupons (it defines, issues, redeems and restores them); the order service reads an
issued coupon to answer COUPON_NOT_APPLICABLE / AMOUNT_MISMATCH at once. Both judge it by these terms, so they
are part of the kernel's order ↔ payment contract (with `market.kernel.plan`).

Coupons are FIXED (won off) or PERCENT (with an optional cap), with a minimum order amount and a validity
window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from market.kernel.money import Won

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
    max_discount: Won | None
    min_order_amount: Won
    valid_from: datetime
    valid_until: datetime

    def discount_for(self, order_total: Won) -> Won:
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
        self, member_id: str, order_total: Won, when: datetime, order_id: str | None = None
    ) -> bool:
        """Belongs to the member, unused (or already held by this very order), valid now, minimum reached."""
        held_by_this_order = order_id is not None and self.status == USED and self.order_id == order_id
        return (
            self.member_id == member_id
            and (self.status == AVAILABLE or held_by_this_order)
            and self.definition.valid_at(when)
            and order_total >= self.definition.min_order_amount
        )
