"""What the payment service asks of a coupon definition an admin submits (the terms are the kernel's)."""

from __future__ import annotations

from market.kernel.coupons import FIXED, PERCENT, CouponDefinition


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
