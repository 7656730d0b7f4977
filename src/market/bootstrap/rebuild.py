"""`market rebuild-read-model`: the reporting service's read model forgotten and read again from the order
service's data (docs/scaling.md).

The order database is read here, in the composition root, through the order service's own SQL adapter: the
reporting service knows only its `History` port and never imports the order service. Lines of orders
placed before lines carried their seller get it from the product database (a product's seller never
changes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

from market.infra.migrations import migrate
from market.infra.mysql import service_database
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import SystemClock
from market.kernel.db import Database
from market.kernel.events import Envelope
from market.order.adapters.sql import SqlOrders
from market.order.domain import Order, history
from market.product.adapters.sql import SqlProducts
from market.reporting.adapters import sql as reporting_sql
from market.reporting.adapters.migrations import HISTORY
from market.reporting.use_cases import ReportingService
from market.settings import Settings

PAGE = 500


class OrderDatabaseHistory:
    """The `History` port over the order database (read only) and, for old lines' sellers, the product's."""

    def __init__(self, orders: Database, products: Database, page: int = PAGE) -> None:
        self._orders, self._products, self._page = orders, products, page

    async def pages(self) -> AsyncIterator[Sequence[Envelope]]:
        after: str | None = None
        while True:
            async with self._orders.transaction() as tx:
                orders = await SqlOrders(tx).every(after, self._page)
            if not orders:
                return
            after = orders[-1].id
            orders = await self._with_sellers(orders)
            yield [e for order in orders for e in history(order)]

    async def _with_sellers(self, orders: list[Order]) -> list[Order]:
        unknown = {line.product_id for o in orders for line in o.items if not line.seller_id}
        if not unknown:
            return orders
        async with self._products.transaction() as tx:
            sellers = {p.id: p.seller_id for p in await SqlProducts(tx).get_many(sorted(unknown))}
        return [
            replace(
                o,
                items=tuple(
                    replace(li, seller_id=li.seller_id or sellers.get(li.product_id, "")) for li in o.items
                ),
            )
            for o in orders
        ]


def _databases(settings: Settings, distributed: bool) -> dict[str, Database]:
    if not distributed:
        missing = [n for n in ("order", "product") if not (settings.data_dir / f"{n}.db").exists()]
        if missing:
            raise SystemExit(f"market rebuild-read-model: no deployment in {settings.data_dir}")
        return {n: SqliteDatabase(settings.data_dir / f"{n}.db") for n in ("order", "product", "reporting")}
    return {n: service_database(settings, n, 1) for n in ("order", "product", "reporting")}


async def rebuild_read_model(settings: Settings, distributed: bool = False) -> int:
    """Rebuild the read model of a deployment; how many events were read into it."""
    dbs = _databases(settings, distributed)
    try:
        await migrate(dbs["reporting"], HISTORY)
        service = ReportingService(uow=reporting_sql.sql_uow(dbs["reporting"]), clock=SystemClock())
        return await service.rebuild(OrderDatabaseHistory(dbs["order"], dbs["product"]))
    finally:
        for db in dbs.values():
            await db.close()
