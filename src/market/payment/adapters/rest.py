"""The payment REST API: payment history, the member's coupons, coupon definition and issuing (admin)."""

# No `from __future__ import annotations`: FastAPI must see the dependency types defined inside router().

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StrictStr

from market.kernel.clock import iso
from market.kernel.coupons import CouponDefinition, IssuedCoupon
from market.payment.domain.payment import PaymentLeg
from market.payment.use_cases import HeldCoupon, PaymentService
from market.web.auth import Auth, Principal
from market.web.json import FastJSON, page
from market.web.query import NO_LAG, PAGE_FILTERS, described

MAX_MONEY = 1_000_000_000_000


class CouponBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: StrictStr = Field(min_length=1, max_length=100)
    discount_type: Literal["FIXED", "PERCENT"]
    discount_value: StrictInt = Field(
        ge=1, le=MAX_MONEY, description="won off (FIXED) or percent 1..100 (PERCENT)"
    )
    max_discount: StrictInt | None = Field(default=None, ge=1, le=MAX_MONEY, description="PERCENT only")
    min_order_amount: StrictInt = Field(default=0, ge=0, le=MAX_MONEY)
    valid_from: AwareDatetime
    valid_until: AwareDatetime


class IssueBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: StrictStr = Field(min_length=1, max_length=64)


def definition_json(d: CouponDefinition) -> dict[str, Any]:
    return {
        "id": d.id,
        "name": d.name,
        "discount_type": d.discount_type,
        "discount_value": d.discount_value,
        "max_discount": d.max_discount,
        "min_order_amount": d.min_order_amount,
        "valid_from": iso(d.valid_from),
        "valid_until": iso(d.valid_until),
    }


def issued_json(coupon: IssuedCoupon, status: str) -> dict[str, Any]:
    return {
        **definition_json(coupon.definition),
        "id": coupon.id,
        "coupon_id": coupon.definition.id,
        "member_id": coupon.member_id,
        "status": status,
    }


def leg_json(order_id: str, leg: PaymentLeg) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "method": leg.method.value,
        "amount": leg.amount,
        "status": leg.status.value,
        "approved_at": iso(leg.approved_at),
        "refunded_amount": leg.refunded_amount,
        "refunded_at": iso(leg.refunded_at),
    }


def router(service: PaymentService, auth: Auth) -> APIRouter:
    api = APIRouter(tags=["payments"], default_response_class=FastJSON)
    Signed = Annotated[Principal, Depends(auth.member)]
    Admin = Annotated[Principal, Depends(auth.admin)]

    @api.get(
        "/payments",
        summary="Payment history of an order: its legs, their states and refunds",
        **described(
            {"order_id": "required: the order (another member's answers 404; an admin sees any)"}, NO_LAG
        ),
    )
    async def payments(
        principal: Signed, order_id: Annotated[str, Query(min_length=1, max_length=64)]
    ) -> dict[str, Any]:
        legs = await service.history(principal.member_id, order_id, principal.is_admin)
        return {"items": [leg_json(order_id, leg) for leg in legs], "next_cursor": None}

    @api.get(
        "/members/me/coupons",
        summary="The signed-in member's coupons (AVAILABLE, USED, EXPIRED)",
        **described(PAGE_FILTERS, NO_LAG),
    )
    async def my_coupons(
        principal: Signed,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=64)] = None,
    ) -> dict[str, Any]:
        held = await service.member_coupons(principal.member_id, limit + 1, cursor)

        def render(h: HeldCoupon) -> dict[str, Any]:
            return issued_json(h.coupon, h.status)

        return page(held, limit, render, lambda h: h.coupon.id)

    @api.post("/admin/coupons", status_code=201, summary="Define a coupon (admin)")
    async def define(body: CouponBody, _: Admin) -> dict[str, Any]:
        """FIXED takes `discount_value` won off; PERCENT takes 1..100 percent, capped by `max_discount`."""
        definition = await service.define_coupon(
            name=body.name,
            discount_type=body.discount_type,
            discount_value=body.discount_value,
            max_discount=body.max_discount,
            min_order_amount=body.min_order_amount,
            valid_from=_utc(body.valid_from),
            valid_until=_utc(body.valid_until),
        )
        return definition_json(definition)

    @api.post(
        "/admin/coupons/{coupon_id}/issue", status_code=201, summary="Issue a coupon to a member (admin)"
    )
    async def issue(
        coupon_id: Annotated[str, Path(max_length=64)], body: IssueBody, _: Admin
    ) -> dict[str, Any]:
        """The issued coupon; 404 when the coupon or the member does not exist."""
        issued = await service.issue_coupon(coupon_id, body.member_id)
        return issued_json(issued, service.status_now(issued))

    return api


def _utc(when: datetime) -> datetime:
    return when.astimezone(UTC)
