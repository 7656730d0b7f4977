"""The read model's records and the rules that make them from events; standard library only."""

from market.reporting.domain.projection import follows, project
from market.reporting.domain.records import (
    IN_FLIGHT,
    STATUSES,
    STUCK_AFTER,
    OrderQuery,
    OrderRecord,
    Partial,
    SoldLine,
)
from market.reporting.domain.sales import KST, SaleRow, SalesFigure, SalesQuery, kst_day, sale_rows

__all__ = [
    "IN_FLIGHT",
    "KST",
    "STATUSES",
    "STUCK_AFTER",
    "OrderQuery",
    "OrderRecord",
    "Partial",
    "SaleRow",
    "SalesFigure",
    "SalesQuery",
    "SoldLine",
    "follows",
    "kst_day",
    "project",
    "sale_rows",
]
