"""The order service's repositories, outbox and inbox: the memory fakes and SQL (SQLite, and MariaDB when
MARKET_TEST_MYSQL_URL is set) behave alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from market.infra.migrations import migrate
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import ManualClock
from market.kernel.db import Database
from market.kernel.events import Envelope
from market.kernel.plan import Leg
from market.order.adapters.memory import OrderState, memory_uow
from market.order.adapters.migrations import HISTORY as MIGRATIONS
from market.order.adapters.sql import sql_uow
from market.order.domain import DONE, IN_FLIGHT, KeyUse, Line, Order, OrderStatus
from market.order.ports import UnitOfWork
from tests.events import event
from tests.integration.conftest import mysql_database

T0 = datetime(2026, 3, 1, 9, 0, 0, 123_000, tzinfo=UTC)


@dataclass
class Backend:
    uow: Callable[[], AbstractAsyncContextManager[UnitOfWork]]
    outbox: Callable[[], Any]  # -> list[Envelope], awaitable


@pytest.fixture(params=["memory", "sqlite", "mysql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "memory":
        state = OrderState()

        async def memory_outbox() -> list[Envelope]:
            return list(state.outbox)

        yield Backend(memory_uow(state), memory_outbox)
        return
    async with AsyncExitStack() as stack:
        if request.param == "sqlite":
            db: Database = SqliteDatabase(tmp_path / "order.db")
            stack.push_async_callback(db.close)
        else:
            db = await stack.enter_async_context(mysql_database())  # skips without MariaDB
        await migrate(db, MIGRATIONS)

        async def sql_outbox() -> list[Envelope]:
            async with db.transaction() as tx:
                rows = await tx.fetchall("SELECT body FROM outbox ORDER BY seq")
            return [Envelope.from_bytes(r["body"]) for r in rows]

        yield Backend(sql_uow(db, ManualClock(T0)), sql_outbox)


def an_order(order_id: str = "ord_1", member_id: str = "mem_1") -> Order:
    lines = [Line("prd_a", "Tumbler", 12_000, 2), Line("prd_b", "Mug", 3_000, 1)]
    legs = [
        Leg.of("PG", 24_000, "pk_test_ok"),
        Leg.of("COUPON", 3_000, coupon_id="icp_1"),
    ]
    return Order.place(order_id, member_id, lines, legs, T0)


async def test_an_order_reads_back_as_it_was_stored(backend: Backend) -> None:
    order = an_order()
    async with backend.uow() as uow:
        await uow.orders.add(order)
    async with backend.uow() as uow:
        assert await uow.orders.get("ord_1") == order
        assert await uow.orders.get("ord_1", for_update=True) == order
        assert await uow.orders.get("ord_nope") is None


async def test_an_order_id_is_stored_once(backend: Backend) -> None:
    async with backend.uow() as uow:
        await uow.orders.add(an_order())
    with pytest.raises(Exception):  # noqa: B017 (sqlite3.IntegrityError, or the fake's ValueError)
        async with backend.uow() as uow:
            await uow.orders.add(an_order())


async def test_a_change_is_saved_only_over_the_status_it_was_made_from(backend: Backend) -> None:
    order = an_order()
    async with backend.uow() as uow:
        await uow.orders.add(order)
    paid = order.mark_paid(T0 + timedelta(seconds=3), {"PG": "APPROVED", "COUPON": "APPROVED"})
    failed = order.mark_failed(T0 + timedelta(seconds=4), "PG_DECLINED", {"PG": "FAILED"})
    async with backend.uow() as uow:
        assert await uow.orders.save(paid, OrderStatus.PENDING)
        assert not await uow.orders.save(failed, OrderStatus.PENDING)
    async with backend.uow() as uow:
        stored = await uow.orders.get(order.id)
    assert stored == paid and stored is not None and stored.updated_at == T0 + timedelta(seconds=3)
    cancelled = paid.request_cancellation(T0 + timedelta(hours=1)).mark_cancelled(T0 + timedelta(hours=2), {})
    async with backend.uow() as uow:
        assert not await uow.orders.save(cancelled, OrderStatus.CANCELLING)


async def test_a_members_orders_page_newest_first(backend: Backend) -> None:
    async with backend.uow() as uow:
        for i in range(5):
            await uow.orders.add(an_order(f"ord_{i}"))
        await uow.orders.add(an_order("ord_9", member_id="mem_2"))
    async with backend.uow() as uow:
        first = await uow.orders.newest("mem_1", 3, None)
        rest = await uow.orders.newest("mem_1", 3, first[-1].id)
        none = await uow.orders.newest("mem_3", 3, None)
    assert [o.id for o in first] == ["ord_4", "ord_3", "ord_2"]
    assert [o.id for o in rest] == ["ord_1", "ord_0"]
    assert none == []


async def test_a_block_that_raises_leaves_nothing_behind(backend: Backend) -> None:
    envelope = event("PaymentCompleted", "ord_1", T0, member_id="mem_1", legs=[])
    with pytest.raises(RuntimeError):
        async with backend.uow() as uow:
            await uow.orders.add(an_order())
            await uow.outbox.add(event("OrderCreated", "ord_1", T0, member_id="mem_1"))
            await uow.idempotency_keys.start(KeyUse("mem_1", "k", "fp", IN_FLIGHT, T0, T0))
            assert await uow.inbox.claim(envelope)
            raise RuntimeError("crash")
    async with backend.uow() as uow:
        assert await uow.orders.get("ord_1") is None
        assert await uow.idempotency_keys.get("mem_1", "k") is None
        assert await uow.inbox.claim(envelope)
    assert await backend.outbox() == []


async def test_the_outbox_keeps_events_in_order_and_the_inbox_claims_each_once(backend: Backend) -> None:
    created = event("OrderCreated", "ord_1", T0, member_id="mem_1", total_amount=5_000)
    failed = event("OrderFailed", "ord_1", T0, member_id="mem_1", reason="PG_DECLINED")
    async with backend.uow() as uow:
        await uow.outbox.add(created)
        await uow.outbox.add(failed)
        assert await uow.inbox.claim(failed)
    async with backend.uow() as uow:
        assert not await uow.inbox.claim(failed)
    assert await backend.outbox() == [created, failed]


async def test_a_key_is_started_once_finished_and_forgotten(backend: Backend) -> None:
    use = KeyUse("mem_1", "k" * 255, "fp-a", IN_FLIGHT, T0, T0)
    async with backend.uow() as uow:
        assert await uow.idempotency_keys.start(use)
        assert not await uow.idempotency_keys.start(replace(use, fingerprint="fp-b"))
        assert not await uow.idempotency_keys.start(use)
        assert await uow.idempotency_keys.start(replace(use, member_id="mem_2"))
        assert await uow.idempotency_keys.get("mem_1", use.key) == use
    later = T0 + timedelta(seconds=1)
    async with backend.uow() as uow:
        await uow.idempotency_keys.finish("mem_1", use.key, 201, '{"id": "ord_1"}', later)
        done = await uow.idempotency_keys.get("mem_1", use.key)
        await uow.idempotency_keys.finish("mem_1", use.key, 202, "{}", later)  # done stays done
        assert await uow.idempotency_keys.get("mem_1", use.key) == done
    assert done == replace(
        use, state=DONE, status_code=201, response_body='{"id": "ord_1"}', updated_at=later
    )
    async with backend.uow() as uow:
        await uow.idempotency_keys.forget("mem_2", use.key)
        assert await uow.idempotency_keys.get("mem_2", use.key) is None
        assert await uow.idempotency_keys.get("mem_1", use.key) == done


async def test_keys_that_differ_in_case_are_two_keys(backend: Backend) -> None:
    upper, lower = (KeyUse("mem_1", key, f"fp-{key}", IN_FLIGHT, T0, T0) for key in ("Ab", "ab"))
    async with backend.uow() as uow:
        assert await uow.idempotency_keys.start(upper)
        assert await uow.idempotency_keys.start(lower)  # not "the same key with another body"
        assert await uow.idempotency_keys.get("mem_1", "Ab") == upper
        assert await uow.idempotency_keys.get("mem_1", "ab") == lower


async def test_an_abandoned_key_is_taken_over_once(backend: Backend) -> None:
    use = KeyUse("mem_1", "k", "fp-a", IN_FLIGHT, T0, T0)
    later = T0 + timedelta(minutes=2)
    async with backend.uow() as uow:
        await uow.idempotency_keys.start(use)
        assert await uow.idempotency_keys.take_over(use, "fp-b", later)
        assert not await uow.idempotency_keys.take_over(use, "fp-c", later)  # someone else was first
        assert await uow.idempotency_keys.get("mem_1", "k") == replace(
            use, fingerprint="fp-b", updated_at=later
        )


async def test_old_replays_are_forgotten_but_not_requests_in_flight(backend: Backend) -> None:
    async with backend.uow() as uow:
        for key in ("old", "new", "running"):
            await uow.idempotency_keys.start(KeyUse("mem_1", key, "fp", IN_FLIGHT, T0, T0))
        await uow.idempotency_keys.finish("mem_1", "old", 201, "{}", T0)
        await uow.idempotency_keys.finish("mem_1", "new", 201, "{}", T0 + timedelta(hours=2))
    async with backend.uow() as uow:
        assert await uow.idempotency_keys.forget_done_before(T0 + timedelta(hours=1)) == 1
        assert await uow.idempotency_keys.get("mem_1", "old") is None
        assert await uow.idempotency_keys.get("mem_1", "new") is not None
        assert await uow.idempotency_keys.get("mem_1", "running") is not None


async def test_a_placements_key_keeps_its_order_id_through_a_take_over(backend: Backend) -> None:
    placing = KeyUse("mem_1", "k", "fp-a", IN_FLIGHT, T0, T0, resource_id="ord_1")
    cancelling = KeyUse("mem_1", "c", "fp-c", IN_FLIGHT, T0, T0)
    later = T0 + timedelta(minutes=2)
    async with backend.uow() as uow:
        keys = uow.idempotency_keys
        assert await keys.start(placing) and await keys.start(cancelling)
        assert await keys.get("mem_1", "k") == placing
        assert await keys.take_over(placing, "fp-a", later, "ord_2")
        assert await keys.take_over(cancelling, "fp-p", later, "ord_3")  # none stored: this one is kept
        assert await keys.get("mem_1", "k") == replace(placing, updated_at=later)
        assert await keys.get("mem_1", "c") == replace(
            cancelling, fingerprint="fp-p", updated_at=later, resource_id="ord_3"
        )
        await keys.finish("mem_1", "k", 201, "{}", later)
        assert (await keys.get("mem_1", "k")) == replace(
            placing, state=DONE, status_code=201, response_body="{}", updated_at=later
        )


async def test_abandoned_placements_are_the_old_in_flight_ones_whose_order_was_never_stored(
    backend: Backend,
) -> None:
    old, new = T0, T0 + timedelta(seconds=30)
    uses = [
        KeyUse("mem_1", "crashed", "fp", IN_FLIGHT, old, old, resource_id="ord_crashed"),
        KeyUse("mem_2", "crashed-later", "fp", IN_FLIGHT, old, new, resource_id="ord_later"),
        KeyUse("mem_1", "stored", "fp", IN_FLIGHT, old, old, resource_id="ord_stored"),
        KeyUse("mem_1", "done", "fp", IN_FLIGHT, old, old, resource_id="ord_done"),
        KeyUse("mem_1", "cancel", "fp", IN_FLIGHT, old, old),
        KeyUse("mem_1", "running", "fp", IN_FLIGHT, old, new + timedelta(seconds=1), resource_id="ord_run"),
    ]
    async with backend.uow() as uow:
        for use in uses:
            await uow.idempotency_keys.start(use)
        await uow.idempotency_keys.finish("mem_1", "done", 201, "{}", old)
        await uow.orders.add(an_order("ord_stored"))
    async with backend.uow() as uow:
        found = await uow.idempotency_keys.abandoned_placements(new, 10)
        first = await uow.idempotency_keys.abandoned_placements(new, 1)
    assert found == uses[:2] and first == uses[:1]


async def test_a_key_is_forgotten_only_if_untouched_since_it_was_read(backend: Backend) -> None:
    use = KeyUse("mem_1", "k", "fp-a", IN_FLIGHT, T0, T0, resource_id="ord_1")
    later = T0 + timedelta(minutes=2)
    async with backend.uow() as uow:
        await uow.idempotency_keys.start(use)
        await uow.idempotency_keys.take_over(use, "fp-a", later)
        assert not await uow.idempotency_keys.forget_unchanged(use)
        assert await uow.idempotency_keys.get("mem_1", "k") is not None
        assert await uow.idempotency_keys.forget_unchanged(replace(use, updated_at=later))
        assert await uow.idempotency_keys.get("mem_1", "k") is None


async def test_keys_stored_before_the_order_id_column_read_back_without_one(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "order.db")
    await migrate(db, MIGRATIONS, to="order_0002")
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO idempotency_keys (member_id, idem_key, fingerprint, state, created_at, updated_at)"
            " VALUES ('mem_1', 'k', 'fp', 'IN_FLIGHT', '2026-03-01T09:00:00.123Z', '2026-03-01T09:00:00.123Z')"
        )
    assert len((await migrate(db, MIGRATIONS)).applied) == 7
    async with sql_uow(db, ManualClock(T0))() as uow:
        assert await uow.idempotency_keys.get("mem_1", "k") == KeyUse("mem_1", "k", "fp", IN_FLIGHT, T0, T0)
    await db.close()
