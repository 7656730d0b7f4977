"""The read model (the reporting service over its storage): memory, SQLite and MariaDB (when
MARKET_TEST_MYSQL_URL is set) give the same answers. Events come as the transports deliver them: twice,
out of order across the two topics, late."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from market.infra.migrations import migrate
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import ManualClock, iso
from market.kernel.db import Database
from market.kernel.events import Envelope
from market.reporting.adapters.memory import memory_uow
from market.reporting.adapters.migrations import HISTORY as MIGRATIONS
from market.reporting.adapters.sql import sql_uow
from market.reporting.domain import OrderQuery, SalesFigure
from market.reporting.use_cases import ReportingService
from tests.events import event
from tests.integration.conftest import mysql_database

# 14:30 UTC is 23:30 in Seoul: a payment then and a refund an hour later fall on two KST days.
T0 = datetime(2026, 3, 1, 14, 30, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "mysql"])
async def service(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ReportingService]:
    clock = ManualClock(T0)
    if request.param == "memory":
        yield ReportingService(uow=memory_uow(), clock=clock)
        return
    async with AsyncExitStack() as stack:
        if request.param == "sqlite":
            db: Database = SqliteDatabase(tmp_path / "reporting.db")
            stack.push_async_callback(db.close)
        else:
            db = await stack.enter_async_context(mysql_database())
        await migrate(db, MIGRATIONS)
        yield ReportingService(uow=sql_uow(db), clock=clock)


def line(product: str, seller: str, price: int, quantity: int) -> dict[str, Any]:
    return {
        "product_id": product,
        "seller_id": seller,
        "name": product,
        "unit_price": price,
        "quantity": quantity,
    }


def created(order: str, member: str, at: datetime, *lines: dict[str, Any]) -> Envelope:
    total = sum(li["unit_price"] * li["quantity"] for li in lines)
    plan = [{"method": "PG", "amount": total, "payment_key": "pk", "coupon_id": None}]
    return event(
        "OrderCreated", order, at, member_id=member, total_amount=total, items=list(lines), payments=plan
    )


def paid(order: str, member: str, at: datetime) -> Envelope:
    return event("PaymentCompleted", order, at, member_id=member, legs=[], approved_at=iso(at))


def cancelled(order: str, member: str, asked: datetime, at: datetime) -> list[Envelope]:
    return [
        event("OrderCancellationRequested", order, asked, member_id=member),
        event("PaymentRefunded", order, at, member_id=member, legs=[], refunded_at=iso(at)),
        event("OrderCancelled", order, at, member_id=member),
    ]


def story() -> list[Envelope]:
    """ord_1 paid then cancelled the next KST day; ord_2 failed; ord_3 paid, partly cancelled; ord_4 pending."""
    t = T0
    return [
        created("ord_1", "mem_a", t, line("prd_mug", "sel_1", 2_000, 2), line("prd_cup", "sel_2", 3_000, 1)),
        paid("ord_1", "mem_a", t + timedelta(seconds=1)),
        created("ord_2", "mem_b", t + timedelta(seconds=2), line("prd_cup", "sel_2", 3_000, 1)),
        event(
            "PaymentFailed",
            "ord_2",
            t + timedelta(seconds=3),
            member_id="mem_b",
            legs=[],
            reason="PG_DECLINED",
        ),
        event("OrderFailed", "ord_2", t + timedelta(seconds=3), member_id="mem_b", reason="PG_DECLINED"),
        created("ord_3", "mem_b", t + timedelta(seconds=4), line("prd_mug", "sel_1", 2_000, 3)),
        paid("ord_3", "mem_b", t + timedelta(seconds=5)),
        event(
            "OrderPartiallyCancelled",
            "ord_3",
            t + timedelta(minutes=40),
            member_id="mem_b",
            items=[{"product_id": "prd_mug", "quantity": 1}],
            refund_amount=2_000,
            refunds=[{"method": "PG", "amount": 2_000}],
        ),
        *cancelled("ord_1", "mem_a", t + timedelta(minutes=59), t + timedelta(hours=1)),
        created("ord_4", "mem_a", t + timedelta(hours=1), line("prd_cup", "sel_2", 3_000, 1)),
    ]


async def statuses(service: ReportingService, **filters: Any) -> dict[str, str]:
    found = await service.search_orders(OrderQuery(**filters))
    return {r.id: r.status for r in found}


EXPECTED_SALES = [
    SalesFigure("2026-03-01", "sel_1", 2, 4_000 + 6_000, 0),
    SalesFigure("2026-03-01", "sel_2", 1, 3_000, 0),
    SalesFigure("2026-03-02", "sel_1", 0, 0, 2_000 + 4_000),  # the partial cancellation, ord_1's mugs
    SalesFigure("2026-03-02", "sel_2", 0, 0, 3_000),
]


async def test_events_twice_and_out_of_order_make_the_same_read_model(service: ReportingService) -> None:
    events = story()
    shuffled = random.Random(7).sample(events, len(events))
    await service.handle_batch(shuffled[:6])
    for envelope in shuffled[6:] + events:  # the rest one at a time, then everything again
        await service.handle(envelope)

    assert await statuses(service) == {
        "ord_1": "CANCELLED",
        "ord_2": "FAILED",
        "ord_3": "PAID",
        "ord_4": "PENDING",
    }
    assert await service.sales(date(2026, 3, 1), date(2026, 3, 2)) == EXPECTED_SALES
    [ord_3] = await service.search_orders(OrderQuery(member_id="mem_b", status="PAID"))
    assert (ord_3.refunded_amount, ord_3.total_amount) == (2_000, 6_000)


async def test_each_filter_of_the_search(service: ReportingService) -> None:
    await service.handle_batch(story())

    assert await statuses(service, member_id="mem_a") == {"ord_1": "CANCELLED", "ord_4": "PENDING"}
    assert list(await statuses(service, seller_id="sel_1")) == ["ord_3", "ord_1"]
    assert await statuses(service, status="FAILED") == {"ord_2": "FAILED"}
    assert list(
        await statuses(service, created_from=T0 + timedelta(seconds=2), created_to=T0 + timedelta(hours=1))
    ) == [
        "ord_3",
        "ord_2",
    ]
    assert list(await statuses(service, cursor="ord_3")) == ["ord_2", "ord_1"]
    assert list(await statuses(service, limit=2)) == ["ord_4", "ord_3", "ord_2"]  # limit + 1: a next page
    assert await service.sales(date(2026, 3, 2), date(2026, 3, 2), "sel_2") == EXPECTED_SALES[3:]


async def test_stuck_orders_are_those_not_settled_60_s_after_their_last_change(
    service: ReportingService,
) -> None:
    clock: ManualClock = service._clock  # type: ignore[assignment]
    await service.handle_batch(story())
    clock.set(T0 + timedelta(hours=1, seconds=59))
    assert await statuses(service, stuck=True) == {}
    clock.set(T0 + timedelta(hours=1, seconds=60))
    assert await statuses(service, stuck=True) == {"ord_4": "PENDING"}
    await service.handle(paid("ord_4", "mem_a", T0 + timedelta(hours=1, seconds=61)))
    assert await statuses(service, stuck=True) == {}


async def test_a_rebuild_forgets_everything_and_reads_the_history_again(service: ReportingService) -> None:
    await service.handle_batch(story())

    class Told:
        async def pages(self) -> AsyncIterator[list[Envelope]]:
            yield story()[:5]  # other ids: a rebuild's own events
            yield story()[5:8]

    assert await service.rebuild(Told()) == 8
    assert await statuses(service) == {"ord_1": "PAID", "ord_2": "FAILED", "ord_3": "PAID"}
    assert await service.rebuild(Told()) == 8  # again: the same
    assert await statuses(service) == {"ord_1": "PAID", "ord_2": "FAILED", "ord_3": "PAID"}
    assert await service.sales(date(2026, 3, 1), date(2026, 3, 2)) == [
        *EXPECTED_SALES[:2],
        SalesFigure("2026-03-02", "sel_1", 0, 0, 2_000),  # ord_3's partial cancellation, ord_1 not cancelled
    ]


async def test_two_replicas_reading_a_new_orders_events_from_two_topics_at_once_lose_neither(
    service: ReportingService,
) -> None:
    """The first sight of an order (no row to lock yet), by two replicas at once: one reads order.events,
    the other payment.events. Each record ends with both facts: created with its lines, and paid."""
    other = ReportingService(uow=service._uow, clock=ManualClock(T0))  # a second replica, the same storage
    orders = [f"ord_{i:02}" for i in range(20)]
    order_events = [created(o, "mem_a", T0, line("prd_mug", "sel_1", 2_000, 1)) for o in orders]
    payment_events = [paid(o, "mem_a", T0 + timedelta(seconds=1)) for o in orders]

    await asyncio.gather(
        *(service.handle(e) for e in order_events), *(other.handle(e) for e in payment_events)
    )

    assert await statuses(service, limit=50) == dict.fromkeys(orders, "PAID")
    assert await service.sales(date(2026, 3, 1), date(2026, 3, 1)) == [
        SalesFigure("2026-03-01", "sel_1", 20, 40_000, 0)
    ]
