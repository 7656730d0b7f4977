"""REST: place, list, read and cancel orders, with Idempotency-Key (Stripe's contract) and `Prefer: wait=N`.

The request models check types and sane magnitudes only; the business limits that have their own codes
(line count, quantity 1–999, duplicates, leg amounts, combinations) are the domain's, so the right code
answers. A replay returns the first response's status and body byte for byte.

No `from __future__ import annotations` here: FastAPI must resolve the routes' annotations, some local.
"""

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.responses import Response

from market.infra.logs import ORDER_ID
from market.kernel.plan import Leg
from market.order.domain import cancel_preview_view, order_view, preview_view
from market.order.use_cases import OrderService, Reply
from market.web.auth import Auth, Principal
from market.web.json import FastJSON, page
from market.web.query import NO_LAG, PAGE_FILTERS, described, only

MAX_MAGNITUDE = 1_000_000_000_000
MY_ORDER_FILTERS = {
    "status": "PENDING, PAID, FAILED, CANCELLING or CANCELLED (an unknown one is a 422)",
    **PAGE_FILTERS,
}

Id = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Magnitude = Annotated[StrictInt, Field(ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=255)]
Prefer = Annotated[str | None, Header(description="`wait=N` (N ≤ 10): answer once the order settles")]


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    product_id: Id
    quantity: Magnitude


class LegIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    method: Literal["PG", "POINT", "COUPON", "BNPL"]
    amount: Magnitude
    payment_key: Annotated[StrictStr | None, Field(max_length=200)] = None
    coupon_id: Annotated[StrictStr | None, Field(max_length=64)] = None


class CancelIn(BaseModel):
    """What to cancel (SPEC §10.3): `items` names quantities to cancel; without it, everything still open."""

    model_config = ConfigDict(extra="forbid", strict=True)
    items: Annotated[list[LineIn] | None, Field(max_length=1000)] = None
    reason: Annotated[StrictStr | None, Field(max_length=200)] = None


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    items: Annotated[list[LineIn], Field(max_length=1000)]
    payments: Annotated[list[LegIn], Field(max_length=20)]


def wait_seconds(prefer: str | None) -> int:
    """N of `Prefer: wait=N` (the use case clamps it to 0..10); 0 when absent or unreadable."""
    for part in re.split(r"[,;]", prefer or ""):
        name, _, value = part.partition("=")
        if name.strip().lower() == "wait":
            try:
                return max(0, int(value.strip().strip('"')))
            except ValueError:
                return 0
    return 0


def _render(reply: Reply, orders_path: str) -> Response:
    headers = {"Location": f"{orders_path}/{reply.order_id}"}
    if reply.waited:
        headers["Preference-Applied"] = f"wait={reply.waited}"
    return Response(reply.body, status_code=reply.status, media_type="application/json", headers=headers)


def _cancelled_items(body: CancelIn | None) -> list[tuple[str, int]] | None:
    """The quantities a cancel names, or None: everything still open."""
    return None if body is None or body.items is None else [(i.product_id, i.quantity) for i in body.items]


def router(service: OrderService, auth: Auth) -> APIRouter:
    """The order routes: each checks its input, calls one use case and renders what it returns."""
    r = APIRouter(tags=["orders"])
    Member = Annotated[Principal, Depends(auth.member)]

    @r.post("/orders", status_code=201, response_class=FastJSON, summary="Place an order")
    async def place_order(
        request: Request, body: OrderIn, principal: Member, key: IdempotencyKey, prefer: Prefer = None
    ) -> Response:
        """Validates, reserves the stock and answers 201 with the PENDING order (`Location` header).

        With `Prefer: wait=N` it answers once the order is PAID or FAILED, or after N seconds."""
        items = [(line.product_id, line.quantity) for line in body.items]
        legs = [Leg.of(p.method, p.amount, p.payment_key, p.coupon_id) for p in body.payments]
        reply = await service.place(principal.member_id, key, items, legs, wait_seconds(prefer))
        ORDER_ID.set(reply.order_id)  # the access log's line names the order (infra.logs)
        return _render(reply, request.url.path)

    @r.post("/orders/preview", response_class=FastJSON, summary="Check an order and its payment plan")
    async def preview_order(body: OrderIn, principal: Member) -> dict[str, Any]:
        """The body of `POST /orders`, checked by the same rules without placing anything: 200 with the
        priced lines and the plan when every rule passes, else the problem `POST /orders` would answer
        for the first broken rule (the stock, which only placing reserves, is not checked)."""
        items = [(line.product_id, line.quantity) for line in body.items]
        legs = [Leg.of(p.method, p.amount, p.payment_key, p.coupon_id) for p in body.payments]
        return preview_view(await service.preview(principal.member_id, items, legs))

    @r.get(
        "/orders",
        response_class=FastJSON,
        summary="My orders, newest first",
        dependencies=[Depends(only(*MY_ORDER_FILTERS))],
        **described(MY_ORDER_FILTERS, NO_LAG),
    )
    async def list_orders(
        principal: Member,
        status: Literal["PENDING", "PAID", "FAILED", "CANCELLING", "CANCELLED"] | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=64)] = None,
    ) -> dict[str, Any]:
        rows = await service.list_orders(principal.member_id, limit, cursor, status)
        return page(rows, limit, order_view, lambda o: o.id)

    @r.get(
        "/orders/{order_id}", response_class=FastJSON, summary="One order with its lines, legs and timeline"
    )
    async def get_order(
        order_id: Annotated[str, Path(max_length=64)],
        principal: Member,
        response: Response,
        prefer: Prefer = None,
    ) -> dict[str, Any]:
        """With `Prefer: wait=N`, a PENDING or CANCELLING order is answered once it settles (a long poll)."""
        wait = wait_seconds(prefer)
        order, waited = await service.follow_order(principal.member_id, order_id, principal.is_admin, wait)
        if waited:
            response.headers["Preference-Applied"] = f"wait={waited}"
        return order_view(order)

    @r.post(
        "/orders/{order_id}/cancel/preview",
        response_class=FastJSON,
        summary="The refund a cancel would give, per leg",
    )
    async def preview_cancel(
        order_id: Annotated[str, Path(max_length=64)], principal: Member, body: CancelIn | None = None
    ) -> dict[str, Any]:
        """The body of a cancel, checked and split as the cancel would (SPEC §10.3) without cancelling:
        200 with the quantities, the refund and each leg's share, else the cancel's own problem."""
        items = _cancelled_items(body)
        cancellation = await service.preview_cancel(principal.member_id, order_id, principal.is_admin, items)
        return cancel_preview_view(cancellation)

    @r.post(
        "/orders/{order_id}/cancel", status_code=202, response_class=FastJSON, summary="Cancel a paid order"
    )
    async def cancel_order(
        request: Request,
        order_id: Annotated[str, Path(max_length=64)],
        principal: Member,
        key: IdempotencyKey,
        body: CancelIn | None = None,
        prefer: Prefer = None,
    ) -> Response:
        """A PAID order within 24 h of payment, wholly or in part (SPEC §10.3). Without a body (or without
        `items`) everything still open: 202 with the order CANCELLING while every leg is refunded. With
        `items`, those quantities: 202 with the order still PAID and its cancellation pending (its refund
        split over the legs shown in `cancellations`) while their share of each leg is refunded.

        With `Prefer: wait=N` it answers once the refund went through, or after N seconds."""
        items = _cancelled_items(body)
        reason = None if body is None else body.reason
        wait = wait_seconds(prefer)
        reply = await service.cancel(
            principal.member_id, key, order_id, principal.is_admin, wait, items, reason
        )
        return _render(reply, request.url.path.removesuffix(f"/{order_id}/cancel"))

    return r
