"""REST: place, list, read and cancel orders, with Idempotency-Key (Stripe's contract) and `Prefer: wait=N`.

The request models check types and sane magnitudes only; the business limits that have their own codes
(line count, quantity 1–999, duplicates, leg amounts, combinations) are the domain's, so the right code
answers. A replay returns the first response's status and body byte for byte.

No `from __future__ import annotations` here: FastAPI must resolve the routes' annotations, some local.
"""

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Collection
from typing import Annotated, Any, Literal, NamedTuple

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.responses import Response

from market.kernel.clock import iso
from market.order.domain import Order, OrderStatus, Replay, Started, new_order_id
from market.order.use_cases import OrderService
from market.order.use_cases.keys import ReplayToStore
from market.payment.domain.rules import Leg, Method
from market.web.auth import Auth, Principal
from market.web.json import FastJSON, page

log = logging.getLogger("market.order.rest")

MAX_MAGNITUDE = 1_000_000_000_000
MAX_WAIT = 10
PLACED_SETTLED = frozenset({OrderStatus.PAID, OrderStatus.FAILED})
CANCEL_SETTLED = frozenset({OrderStatus.CANCELLED})
IN_FLIGHT = {OrderStatus.PENDING: PLACED_SETTLED, OrderStatus.CANCELLING: CANCEL_SETTLED}

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


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    items: Annotated[list[LineIn], Field(max_length=1000)]
    payments: Annotated[list[LegIn], Field(max_length=20)]


def order_view(o: Order) -> dict[str, Any]:
    return {
        "id": o.id,
        "member_id": o.member_id,
        "status": o.status.value,
        "total_amount": o.total_amount,
        "items": [
            {
                "product_id": i.product_id,
                "name": i.name,
                "unit_price": i.unit_price,
                "quantity": i.quantity,
                "line_amount": i.line_amount,
            }
            for i in o.items
        ],
        "payments": [{"method": p.method, "amount": p.amount, "status": p.status} for p in o.payments],
        "failure_reason": o.failure_reason,
        "created_at": iso(o.created_at),
        "paid_at": iso(o.paid_at),
        "cancelled_at": iso(o.cancelled_at),
        "timeline": [{"at": iso(t.at), "event": t.event, "detail": t.detail} for t in o.timeline],
    }


def fingerprint(request: Request, body: BaseModel | None) -> str:
    """sha256 of method, path and the canonical JSON of the body: what makes two requests "the same"."""
    canonical = orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS) if body else b""
    return hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + canonical).hexdigest()


def wait_seconds(prefer: str | None) -> int:
    """N of `Prefer: wait=N`, clamped to 0..10; 0 when absent or unreadable."""
    for part in re.split(r"[,;]", prefer or ""):
        name, _, value = part.partition("=")
        if name.strip().lower() == "wait":
            try:
                return max(0, min(int(value.strip().strip('"')), MAX_WAIT))
            except ValueError:
                return 0
    return 0


class Answer(NamedTuple):
    """How a keyed request answers: its status, where orders live, how long to wait for which statuses."""

    status: int
    orders_path: str
    wait: int
    settled: Collection[str]


def _answer(status: int, content: bytes, location: str, wait: int = 0) -> Response:
    headers = {"Location": location}
    if wait:
        headers["Preference-Applied"] = f"wait={wait}"
    return Response(content, status_code=status, media_type="application/json", headers=headers)


async def _keyed(
    service: OrderService,
    member_id: str,
    key: str,
    request_fingerprint: str,
    act: Callable[[Started, ReplayToStore | None], Awaitable[Order]],
    answer: Answer,
    resource_id: str | None = None,
) -> Response:
    """Run `act` once per Idempotency-Key: store its 2xx answer, or forget the key if it fails.

    `resource_id`: the id of the order a placement would create; `act` gets the one the key remembers,
    and without a wait the answer to store with the order it places (then no `complete` is needed)."""
    status, orders_path, wait, settled = answer
    begun = await service.begin(member_id, key, request_fingerprint, resource_id)
    if isinstance(begun, Replay):
        order_id = orjson.loads(begun.body)["id"]
        return _answer(begun.status, begun.body.encode(), f"{orders_path}/{order_id}")
    stored: dict[str, bytes] = {}

    def render(order: Order) -> str:
        stored[order.id] = content = orjson.dumps(order_view(order))
        return content.decode()

    try:
        order = await act(begun, None if wait else ReplayToStore(member_id, key, status, render))
    except BaseException:
        try:
            await service.abandon(member_id, key)
        except Exception:
            log.exception("could not forget Idempotency-Key %r; it frees itself in a minute", key)
        raise
    if order.id in stored:  # committed with the order: sent as stored
        return _answer(status, stored[order.id], f"{orders_path}/{order.id}")
    try:
        if wait:
            order = await service.wait_for_outcome(order.id, wait, settled)
    finally:
        # Even if the wait is cut short, the order exists: the key must replay it, never make another.
        content = orjson.dumps(order_view(order))
        await service.complete(member_id, key, status, content.decode())
    return _answer(status, content, f"{orders_path}/{order.id}", wait)


async def place(
    service: OrderService, request: Request, body: OrderIn, principal: Principal, key: str, prefer: str | None
) -> Response:
    items = [(line.product_id, line.quantity) for line in body.items]
    legs = [Leg(Method(p.method), p.amount, p.payment_key, p.coupon_id) for p in body.payments]

    # The member, products and coupon are read while the key is claimed, not after.
    looked_up = service.look_up(principal.member_id, items, legs)

    async def act(begun: Started, replay: ReplayToStore | None) -> Order:
        # A retry after a crash gets the order id of the first attempt: that order, never a second.
        return await service.place_order(
            principal.member_id, items, legs, begun.resource_id, begun.resumed, replay, looked_up
        )

    answer = Answer(201, request.url.path, wait_seconds(prefer), PLACED_SETTLED)
    request_fingerprint = fingerprint(request, body)
    try:
        return await _keyed(
            service, principal.member_id, key, request_fingerprint, act, answer, new_order_id()
        )
    finally:
        _drop(looked_up)


def _drop(task: asyncio.Future[Any]) -> None:
    """Cancel a look-up nobody awaited (a replay, a request refused first); note a failure nobody saw."""
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()


async def read(
    service: OrderService, order_id: str, principal: Principal, prefer: str | None
) -> tuple[Order, dict[str, str]]:
    wait = wait_seconds(prefer)
    order, waited = await service.follow_order(
        principal.member_id, order_id, principal.is_admin, wait, IN_FLIGHT
    )
    return order, {"Preference-Applied": f"wait={wait}"} if waited else {}


def router(service: OrderService, auth: Auth) -> APIRouter:
    """The order routes; the two hot ones also have fast lanes (`rest_lanes`)."""
    r = APIRouter(tags=["orders"])
    Member = Annotated[Principal, Depends(auth.member)]

    @r.post("/orders", status_code=201, response_class=FastJSON, summary="Place an order")
    async def place_order(
        request: Request, body: OrderIn, principal: Member, key: IdempotencyKey, prefer: Prefer = None
    ) -> Response:
        """Validates, reserves the stock and answers 201 with the PENDING order (`Location` header).

        With `Prefer: wait=N` it answers once the order is PAID or FAILED, or after N seconds."""
        return await place(service, request, body, principal, key, prefer)

    @r.get("/orders", response_class=FastJSON, summary="My orders, newest first")
    async def list_orders(
        principal: Member,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=64)] = None,
    ) -> dict[str, Any]:
        rows = await service.list_orders(principal.member_id, limit, cursor)
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
        order, headers = await read(service, order_id, principal, prefer)
        response.headers.update(headers)
        return order_view(order)

    @r.post(
        "/orders/{order_id}/cancel", status_code=202, response_class=FastJSON, summary="Cancel a paid order"
    )
    async def cancel_order(
        request: Request,
        order_id: Annotated[str, Path(max_length=64)],
        principal: Member,
        key: IdempotencyKey,
        prefer: Prefer = None,
    ) -> Response:
        """A PAID order within 24 h of payment: 202 with the order CANCELLING while every leg is refunded.

        With `Prefer: wait=N` it answers once the order is CANCELLED, or after N seconds."""

        async def act(begun: Started, replay: ReplayToStore | None) -> Order:
            return await service.cancel_order(principal.member_id, order_id, principal.is_admin)

        orders_path = request.url.path.removesuffix(f"/{order_id}/cancel")
        answer = Answer(202, orders_path, wait_seconds(prefer), CANCEL_SETTLED)
        return await _keyed(service, principal.member_id, key, fingerprint(request, None), act, answer)

    return r
