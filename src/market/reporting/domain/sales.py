"""Sales statistics per KST day and seller (SPEC §10.2), in the value of the goods sold.

- `gross_amount`: the seller's lines of the orders paid that day (by the time of payment), at their unit
  price × quantity; `orders`: how many paid orders had a line of the seller.
- `refunded_amount`: the seller's lines cancelled that day (by the time of the refund): a partial
  cancellation gives back its lines' unit price × quantity (SPEC §10.3's refund), the whole cancellation
  every quantity still open.
- `net_amount` = gross − refunded.

A composite payment changes none of this: a line is paid by the order as a whole, and how the order's
payment was split over PG, points, coupon or BNPL is the payment's matter, not the seller's sale. So a
refund is attributed to the sellers of the lines it cancels, whatever legs it went back to (a coupon share
the member does not get back because the coupon expired is still a sale the seller no longer has).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from market.kernel.money import Won
from market.reporting.domain.records import OrderRecord

KST = timezone(timedelta(hours=9), "KST")


def kst_day(at: datetime) -> str:
    """The Korean calendar day of an instant, as YYYY-MM-DD."""
    return at.astimezone(KST).date().isoformat()


@dataclass(frozen=True)
class SaleRow:
    """One order's part of one seller's figures of one day (rows add up into `SalesFigure`s)."""

    order_id: str
    seller_id: str
    day: str
    orders: int
    gross_amount: Won
    refunded_amount: Won


@dataclass(frozen=True)
class SalesFigure:
    day: str
    seller_id: str
    orders: int
    gross_amount: Won
    refunded_amount: Won

    @property
    def net_amount(self) -> Won:
        return self.gross_amount - self.refunded_amount


@dataclass(frozen=True)
class SalesQuery:
    first_day: date
    last_day: date  # inclusive
    seller_id: str | None = None


def sale_rows(record: OrderRecord) -> list[SaleRow]:
    """The order's rows of the statistics, worked out again from the whole record."""
    by_key: dict[tuple[str, str], list[Won]] = {}  # (seller, day) -> [orders, gross, refunded]
    if record.paid_at is not None:
        day = kst_day(record.paid_at)
        for line in record.items:
            figures = by_key.setdefault((line.seller_id, day), [1, 0, 0])
            figures[1] += line.line_amount
    for at, amounts in record.refunds():
        for seller_id, amount in amounts.items():
            if amount:
                by_key.setdefault((seller_id, kst_day(at)), [0, 0, 0])[2] += amount
    return [
        SaleRow(record.id, seller_id, day, orders, gross, refunded)
        for (seller_id, day), (orders, gross, refunded) in sorted(by_key.items())
    ]
