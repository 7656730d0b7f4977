"""The notices behave the same in memory and in SQL (SQLite, and MariaDB when MARKET_TEST_MYSQL_URL is set)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from market.infra.migrations import migrate
from market.kernel.clock import ManualClock
from market.notification.adapters.memory import memory_uow
from market.notification.adapters.migrations import HISTORY as MIGRATIONS
from market.notification.adapters.sql import sql_uow
from market.notification.domain import FAILED, PAID, Backoff, Notice, State
from market.notification.ports import UnitOfWork
from tests.contract.backends import SQL_BACKENDS, sql_database

UoW = Callable[[], AbstractAsyncContextManager[UnitOfWork]]
T0 = ManualClock().now()
LATER = T0 + timedelta(seconds=60)


@pytest.fixture(params=["memory", *SQL_BACKENDS])
async def uow(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[UoW]:
    if request.param == "memory":
        yield memory_uow()
        return
    async with sql_database(request.param, tmp_path, "notification") as db:
        await migrate(db, MIGRATIONS)
        yield sql_uow(db)


def notice(n: int, due: timedelta = timedelta(0), kind: str = PAID) -> Notice:
    return Notice(
        event_id=f"00000000-0000-4000-8000-{n:012d}",
        kind=kind,
        order_id=f"ord_{n}",
        member_id="mem_1",
        facts={"amount": 24_000, "legs": [{"method": "PG", "amount": 24_000}], "name": "김민지 <b>"},
        occurred_at=T0,
        next_attempt_at=T0 + due,
    )


async def test_a_notice_reads_back_as_recorded_and_an_event_id_is_recorded_once(uow: UoW) -> None:
    async with uow() as w:
        assert await w.notices.add([notice(1), notice(2, kind=FAILED), notice(1)]) == 2
    async with uow() as w:
        assert await w.notices.add([notice(2), notice(3)]) == 1
        assert await w.notices.get(notice(1).event_id) == notice(1)
        assert await w.notices.get(notice(2).event_id) == notice(2, kind=FAILED)
        assert await w.notices.get("00000000-0000-4000-8000-999999999999") is None


async def test_a_large_poll_is_recorded_whole(uow: UoW) -> None:
    async with uow() as w:
        assert await w.notices.add([notice(n) for n in range(250)]) == 250
    async with uow() as w:
        assert len(await w.notices.due(T0, 1000)) == 250


async def test_due_lists_pending_unclaimed_notices_longest_due_first(uow: UoW) -> None:
    async with uow() as w:
        await w.notices.add([notice(1, timedelta(seconds=5)), notice(2), notice(3, timedelta(seconds=90))])
    async with uow() as w:
        assert await w.notices.due(T0, 10) == [notice(2).event_id]
        assert await w.notices.due(LATER, 10) == [notice(2).event_id, notice(1).event_id]
        assert await w.notices.due(LATER, 1) == [notice(2).event_id]
        assert await w.notices.claim(notice(2).event_id, "r1", LATER, LATER + timedelta(seconds=30))
        assert await w.notices.due(LATER, 10) == [notice(1).event_id]


async def test_only_one_replica_holds_a_claim_until_it_expires(uow: UoW) -> None:
    until = LATER + timedelta(seconds=30)
    async with uow() as w:
        await w.notices.add([notice(1)])
    async with uow() as w:
        assert await w.notices.claim(notice(1).event_id, "r1", LATER, until) == notice(1)
    async with uow() as w:
        assert await w.notices.claim(notice(1).event_id, "r2", LATER, until) is None
        assert await w.notices.claim(notice(1).event_id, "r2", until, until + timedelta(seconds=30)) is None
        taken = await w.notices.claim(
            notice(1).event_id,
            "r2",
            until + timedelta(milliseconds=1),
            until + timedelta(seconds=60),
        )
        assert taken == notice(1)
    async with uow() as w:
        assert not await w.notices.release(notice(1).delivered(LATER), "r1")  # r1 lost it
        assert await w.notices.release(notice(1).delivered(until), "r2")
        assert (await w.notices.get(notice(1).event_id)) == notice(1).delivered(until)


async def test_a_released_attempt_keeps_its_outcome_and_is_due_again_only_if_pending(uow: UoW) -> None:
    failed = notice(1).failed(LATER, "ConnectionRefusedError: " + "x" * 400, Backoff(first=2, cap=60))
    async with uow() as w:
        await w.notices.add([notice(1), notice(2)])
        assert await w.notices.claim(notice(1).event_id, "r1", LATER, LATER + timedelta(seconds=30))
        assert await w.notices.claim(notice(2).event_id, "r1", LATER, LATER + timedelta(seconds=30))
        assert await w.notices.release(failed, "r1")
        assert await w.notices.release(notice(2).refused("550 no such mailbox"), "r1")
    async with uow() as w:
        stored = await w.notices.get(notice(1).event_id)
        assert stored == failed and stored.attempts == 1 and len(stored.last_error or "") == 255
        assert stored.next_attempt_at == LATER + timedelta(seconds=2)
        assert (await w.notices.get(notice(2).event_id)) == replace(
            notice(2), state=State.UNDELIVERABLE, attempts=1, last_error="550 no such mailbox"
        )
        assert await w.notices.due(LATER + timedelta(seconds=1), 10) == []
        assert await w.notices.due(LATER + timedelta(seconds=2), 10) == [notice(1).event_id]
        # the claim went with the release: due again, anyone may take it
        assert await w.notices.claim(
            notice(1).event_id, "r2", LATER + timedelta(seconds=2), LATER + timedelta(seconds=32)
        )


async def test_a_sent_notice_is_never_claimed_again(uow: UoW) -> None:
    async with uow() as w:
        await w.notices.add([notice(1)])
        await w.notices.claim(notice(1).event_id, "r1", T0, LATER)
        await w.notices.release(notice(1).delivered(T0), "r1")
    async with uow() as w:
        assert await w.notices.due(LATER, 10) == []
        assert (
            await w.notices.claim(
                notice(1).event_id, "r1", LATER + timedelta(days=1), LATER + timedelta(days=2)
            )
            is None
        )


async def test_racing_replicas_claim_each_notice_once(uow: UoW) -> None:
    async with uow() as w:
        await w.notices.add([notice(n) for n in range(30)])

    async def take(replica: str) -> list[str]:
        taken = []
        async with uow() as w:
            ids = await w.notices.due(LATER, 100)
        for event_id in ids:
            async with uow() as w:
                if await w.notices.claim(event_id, replica, LATER, LATER + timedelta(seconds=30)):
                    taken.append(event_id)
        return taken

    claims = await asyncio.gather(*(take(f"r{i}") for i in range(3)))

    every = [event_id for taken in claims for event_id in taken]
    assert sorted(every) == sorted(notice(n).event_id for n in range(30))


async def test_a_block_that_raises_records_nothing(uow: UoW) -> None:
    with pytest.raises(RuntimeError):
        async with uow() as w:
            await w.notices.add([notice(1)])
            raise RuntimeError("crash before commit")
    async with uow() as w:
        assert await w.notices.get(notice(1).event_id) is None
