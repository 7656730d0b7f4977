"""Payments and coupons to and from rows: shared by the SQL repositories and the in-memory fakes' copies."""

from __future__ import annotations

from typing import Any

import orjson

from market.kernel.clock import iso, parse_iso, parse_iso_required
from market.kernel.coupons import CouponDefinition, IssuedCoupon
from market.kernel.db import Row
from market.kernel.plan import Method
from market.payment.domain.payment import LegStatus, Payment, PaymentLeg, PaymentStatus
from market.payment.domain.refunds import Refund

_LEG_TIMES = ("started_at", "approved_at", "refunded_at")
_PAYMENT_TIMES = ("lease_until", "created_at", "updated_at", "completed_at", "refunded_at")


def leg_to_json(leg: PaymentLeg) -> dict[str, Any]:
    out: dict[str, Any] = dict(vars(leg))
    out["method"], out["status"] = leg.method.value, leg.status.value
    for name in _LEG_TIMES:
        out[name] = iso(out[name])
    return out


def leg_from_json(raw: dict[str, Any]) -> PaymentLeg:
    fields = dict(raw)
    fields["method"], fields["status"] = Method(raw["method"]), LegStatus(raw["status"])
    for name in _LEG_TIMES:
        fields[name] = parse_iso(raw.get(name))
    return PaymentLeg(**fields)


def payment_to_row(p: Payment) -> dict[str, Any]:
    row: dict[str, Any] = {
        "order_id": p.order_id,
        "member_id": p.member_id,
        "status": p.status.value,
        "total_amount": p.total_amount,
        "legs": orjson.dumps([leg_to_json(leg) for leg in p.legs]).decode(),
        "failure_reason": p.failure_reason,
        "attempts": p.attempts,
        "refunds": orjson.dumps([r.to_json() for r in p.refunds]).decode(),
    }
    for name in _PAYMENT_TIMES:
        row[name] = iso(getattr(p, name))
    return row


def payment_from_row(row: Row) -> Payment:
    return Payment(
        order_id=row["order_id"],
        member_id=row["member_id"],
        total_amount=int(row["total_amount"]),
        legs=[leg_from_json(raw) for raw in orjson.loads(row["legs"])],
        created_at=parse_iso_required(row["created_at"]),
        updated_at=parse_iso_required(row["updated_at"]),
        status=PaymentStatus(row["status"]),
        failure_reason=row["failure_reason"],
        attempts=int(row["attempts"]),
        lease_until=parse_iso(row["lease_until"]),
        completed_at=parse_iso(row["completed_at"]),
        refunded_at=parse_iso(row["refunded_at"]),
        refunds=[Refund.from_json(raw) for raw in orjson.loads(row.get("refunds") or "[]")],
    )


def definition_to_row(d: CouponDefinition) -> dict[str, Any]:
    row = dict(vars(d))
    row["valid_from"], row["valid_until"] = iso(d.valid_from), iso(d.valid_until)
    return row


def definition_from_row(row: Row) -> CouponDefinition:
    return CouponDefinition(
        id=row["id"],
        name=row["name"],
        discount_type=row["discount_type"],
        discount_value=int(row["discount_value"]),
        max_discount=None if row["max_discount"] is None else int(row["max_discount"]),
        min_order_amount=int(row["min_order_amount"]),
        valid_from=parse_iso_required(row["valid_from"]),
        valid_until=parse_iso_required(row["valid_until"]),
    )


def issued_from_row(row: Row, definition: CouponDefinition) -> IssuedCoupon:
    return IssuedCoupon(row["id"], definition, row["member_id"], row["status"], row["order_id"])
