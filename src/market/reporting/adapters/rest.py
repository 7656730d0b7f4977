"""The read side's REST API (admin): order search over every member's orders, and sales statistics as JSON
or CSV. Both read the read model, fed by events: they may lag the orders by seconds.

No `from __future__ import annotations`: FastAPI must resolve the routes' annotations, some local.
"""

import csv
import io
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from starlette.responses import Response

from market.kernel.clock import iso
from market.reporting.domain import KST, OrderQuery, OrderRecord, SalesFigure
from market.reporting.use_cases import ReportingService, invalid
from market.web.auth import Auth, Principal
from market.web.json import FastJSON, page
from market.web.query import PAGE_FILTERS, described, only

LAG = (
    "read from the read model, which the order and payment events feed: an order shows up, and changes "
    "status, a few seconds after the order service has it (longer while the reporting service catches up)."
)
ORDER_FILTERS = {
    "status": "PENDING, PAID, FAILED, CANCELLING or CANCELLED",
    "member_id": "the member's orders",
    "seller_id": "orders with a line of this seller",
    "from": "created at or after: a date (that KST day's start) or a date-time with its offset",
    "to": "created before: a date (that KST day included) or a date-time with its offset",
    "stuck": "`true`: orders not settled (PENDING or CANCELLING) 60 s after their last change",
    **PAGE_FILTERS,
}
SALES_FILTERS = {
    "from": "first KST day, YYYY-MM-DD (default: 30 days before `to`)",
    "to": "last KST day, included, YYYY-MM-DD (default: today); at most 366 days in all",
    "seller_id": "one seller's figures",
}
CSV_COLUMNS = ("date", "seller_id", "orders", "gross_amount", "refunded_amount", "net_amount")
CSV_ANSWER: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}


def record_view(r: OrderRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "member_id": r.member_id,
        "status": r.status,
        "total_amount": r.total_amount,
        "refunded_amount": r.refunded_amount,
        "items": [
            {
                "product_id": line.product_id,
                "seller_id": line.seller_id,
                "name": line.name,
                "unit_price": line.unit_price,
                "quantity": line.quantity,
                "line_amount": line.line_amount,
            }
            for line in r.items
        ],
        "failure_reason": r.failure_reason,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "paid_at": iso(r.paid_at),
        "cancelled_at": iso(r.cancelled_at),
    }


def figure_row(f: SalesFigure) -> dict[str, Any]:
    return {
        "date": f.day,
        "seller_id": f.seller_id,
        "orders": f.orders,
        "gross_amount": f.gross_amount,
        "refunded_amount": f.refunded_amount,
        "net_amount": f.net_amount,
    }


def instant(value: str | None, field: str, end: bool = False) -> datetime | None:
    """A date (a KST day: its start, or with `end` the next day's) or a date-time with its offset."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
            return datetime(day.year, day.month, day.day, tzinfo=KST)
        at = datetime.fromisoformat(value)
    except ValueError:
        raise invalid(field, "must be YYYY-MM-DD or an ISO-8601 date-time") from None
    if at.tzinfo is None:
        raise invalid(field, "a date-time needs its offset (Z or +09:00)")
    return at


def as_csv(figures: list[SalesFigure]) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(figure_row(f) for f in figures)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8")


def router(service: ReportingService, auth: Auth) -> APIRouter:
    r = APIRouter(tags=["reporting"], default_response_class=FastJSON)
    Admin = Annotated[Principal, Depends(auth.admin)]
    Id = Annotated[str | None, Query(min_length=1, max_length=64)]
    When = Annotated[str | None, Query(max_length=40)]

    @r.get(
        "/admin/orders",
        summary="Every member's orders, with filters (admin)",
        dependencies=[Depends(only(*ORDER_FILTERS))],
        **described(ORDER_FILTERS, LAG),
    )
    async def search(
        _: Admin,
        status: Literal["PENDING", "PAID", "FAILED", "CANCELLING", "CANCELLED"] | None = None,
        member_id: Id = None,
        seller_id: Id = None,
        created_from: Annotated[When, Query(alias="from")] = None,
        created_to: Annotated[When, Query(alias="to")] = None,
        stuck: bool = False,
        cursor: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        query = OrderQuery(
            status, member_id, seller_id, instant(created_from, "from"), instant(created_to, "to", end=True),
            stuck, cursor, limit,
        )  # fmt: skip
        return page(await service.search_orders(query), limit, record_view, lambda o: o.id)

    @r.get(
        "/admin/stats/sales",
        summary="Sales per KST day and seller (admin); CSV with `Accept: text/csv`",
        dependencies=[Depends(only(*SALES_FILTERS))],
        responses=CSV_ANSWER,
        **described(SALES_FILTERS, LAG),
    )
    async def sales(
        _: Admin,
        first_day: Annotated[date | None, Query(alias="from")] = None,
        last_day: Annotated[date | None, Query(alias="to")] = None,
        seller_id: Id = None,
        accept: Annotated[str, Header()] = "application/json",
    ) -> Any:
        """`{"items": [{"date", "seller_id", "orders", "gross_amount", "refunded_amount", "net_amount"}]}`,
        by day then seller: gross by the day of payment, refunded by the day of the refund, in the value of
        the lines (docs/scaling.md says how a refund is attributed to sellers)."""
        figures = await service.sales(first_day, last_day, seller_id)
        if "text/csv" in accept:
            return as_csv(figures)
        return {"items": [figure_row(f) for f in figures]}

    return r
