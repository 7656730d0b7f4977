"""The member repositories behave the same in memory and in SQL (SQLite): the fakes are honest."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path

import pytest

from market.infra.migrations import migrate
from market.kernel.clock import ManualClock
from market.kernel.db import Params, Row, Tx, transaction_uow
from market.kernel.errors import DomainError
from market.member.adapters.jwt import JwtTokenIssuer
from market.member.adapters.memory import memory_uow
from market.member.adapters.migrations import HISTORY as MIGRATIONS
from market.member.adapters.sql import SqlUnitOfWork, sql_uow
from market.member.domain import LedgerEntry, Member
from market.member.ports import UnitOfWork
from market.member.use_cases import MemberService
from market.web.auth import TokenSettings
from tests.contract.backends import SQL_BACKENDS, sql_database

UoW = Callable[[], AbstractAsyncContextManager[UnitOfWork]]
T0 = ManualClock().now()


@pytest.fixture(params=["memory", *SQL_BACKENDS])
async def uow(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[UoW]:
    if request.param == "memory":
        yield memory_uow()
        return
    async with sql_database(request.param, tmp_path, "member") as db:
        await migrate(db, MIGRATIONS)
        yield sql_uow(db, ManualClock())


def member(n: int = 1, email: str | None = None, balance: int = 0) -> Member:
    return Member(
        f"mem_{n:03d}", email or f"m{n}@example.com", f"Member {n}", "member", "ACTIVE", balance, T0
    )


def entry(
    n: int,
    member_id: str = "mem_001",
    delta: int = 100,
    order_id: str | None = None,
    kind: str = "GRANT",
    refund_id: str = "",
) -> LedgerEntry:
    return LedgerEntry(
        f"pnt_{n:03d}", member_id, delta, 1_000, "why", order_id, kind, T0 + timedelta(seconds=n), refund_id
    )


async def test_a_member_reads_back_as_written(uow: UoW) -> None:
    async with uow() as w:
        assert await w.members.add(member(balance=0), "hash-1")
    async with uow() as w:
        assert await w.members.get("mem_001") == member()
        assert await w.members.get("mem_001", for_update=True) == member()
        assert await w.members.credentials("m1@example.com") == (member(), "hash-1")
        assert await w.members.get("mem_nobody") is None
        assert await w.members.credentials("nobody@example.com") is None


async def test_a_members_locale_and_profile_changes_read_back(uow: UoW) -> None:
    jo = Member("mem_002", "jo@example.com", "Jo", "member", "ACTIVE", 0, T0, locale="en")
    async with uow() as w:
        assert await w.members.add(member(), "h") and await w.members.add(jo, "h")
    async with uow() as w:
        assert (await w.members.get("mem_001")) == member()
        assert member().locale == "ko"
        assert await w.members.get("mem_002") == jo
        assert await w.members.set_profile("mem_001", "Kim Minji", "en")
        assert not await w.members.set_profile("mem_nobody", "X", "en")
    async with uow() as w:
        changed = await w.members.get("mem_001")
        assert changed is not None and (changed.name, changed.locale) == ("Kim Minji", "en")
        assert changed.point_balance == 0 and changed.email == "m1@example.com"


async def test_a_taken_email_is_refused_and_keeps_the_first_account(uow: UoW) -> None:
    async with uow() as w:
        assert await w.members.add(member(1), "hash-1")
        assert not await w.members.add(member(2, email="m1@example.com"), "hash-2")
    async with uow() as w:
        assert await w.members.credentials("m1@example.com") == (member(1), "hash-1")
        assert await w.members.get("mem_002") is None


async def test_points_move_only_while_the_balance_stays_non_negative(uow: UoW) -> None:
    async with uow() as w:
        await w.members.add(member(), "h")
        assert await w.members.add_points("mem_001", 500)
        assert await w.members.add_points("mem_001", -200)
        assert (await w.members.get("mem_001", for_update=True)) == member(balance=300)
        assert not await w.members.add_points("mem_001", -301)
        assert await w.members.add_points("mem_001", -300)
        assert not await w.members.add_points("mem_nobody", 10)
    async with uow() as w:
        assert (await w.members.get("mem_001")) == member(balance=0)


async def test_each_order_has_at_most_one_entry_per_kind(uow: UoW) -> None:
    async with uow() as w:
        assert await w.ledger.add(entry(1, order_id="ord_1", kind="ORDER_USE", delta=-100))
        assert not await w.ledger.add(entry(2, order_id="ord_1", kind="ORDER_USE", delta=-100))
        assert await w.ledger.add(entry(3, order_id="ord_1", kind="ORDER_REFUND"))
        assert await w.ledger.add(entry(4)) and await w.ledger.add(entry(5))  # grants have no order
    async with uow() as w:
        assert await w.ledger.of_order("ord_1") == [
            entry(1, order_id="ord_1", kind="ORDER_USE", delta=-100),
            entry(3, order_id="ord_1", kind="ORDER_REFUND"),
        ]
        assert await w.ledger.of_order("ord_2") == []
        assert [e.id for e in await w.ledger.newest("mem_001", 10, None)] == [
            "pnt_005",
            "pnt_004",
            "pnt_003",
            "pnt_001",
        ]


async def test_partial_refunds_of_an_order_are_one_entry_per_refund_id(uow: UoW) -> None:
    async with uow() as w:
        assert await w.ledger.add(entry(1, order_id="ord_1", kind="ORDER_USE", delta=-900))
        assert await w.ledger.add(
            entry(2, order_id="ord_1", kind="ORDER_REFUND", delta=300, refund_id="cnl_a")
        )
        assert await w.ledger.add(
            entry(3, order_id="ord_1", kind="ORDER_REFUND", delta=300, refund_id="cnl_b")
        )
        assert not await w.ledger.add(
            entry(4, order_id="ord_1", kind="ORDER_REFUND", delta=300, refund_id="cnl_b")
        )
        assert await w.ledger.add(entry(5, order_id="ord_1", kind="ORDER_REFUND", delta=300))
        assert not await w.ledger.add(entry(6, order_id="ord_1", kind="ORDER_REFUND", delta=1))
    async with uow() as w:
        assert [(e.id, e.refund_id) for e in await w.ledger.of_order("ord_1")] == [
            ("pnt_001", ""),
            ("pnt_002", "cnl_a"),
            ("pnt_003", "cnl_b"),
            ("pnt_005", ""),
        ]


async def test_the_ledger_pages_newest_first_for_one_member_without_empty_entries(uow: UoW) -> None:
    async with uow() as w:
        for n in range(1, 6):
            await w.ledger.add(entry(n))
        await w.ledger.add(entry(6, member_id="mem_002"))
        await w.ledger.add(entry(7, delta=0, order_id="ord_x", kind="ORDER_REFUND"))
    async with uow() as w:
        first = await w.ledger.newest("mem_001", 2, None)
        rest = await w.ledger.newest("mem_001", 10, first[-1].id)
    assert [e.id for e in first] == ["pnt_005", "pnt_004"]
    assert [e.id for e in rest] == ["pnt_003", "pnt_002", "pnt_001"]
    assert rest[0] == entry(3)


async def test_a_block_that_raises_leaves_nothing_behind(uow: UoW) -> None:
    async with uow() as w:
        await w.members.add(member(balance=0), "h")
    with pytest.raises(RuntimeError):
        async with uow() as w:
            await w.members.add_points("mem_001", 700)
            await w.ledger.add(entry(1, delta=700))
            await w.members.add(member(2), "h")
            raise RuntimeError("crash before commit")
    async with uow() as w:
        assert await w.members.get("mem_001") == member(balance=0)
        assert await w.members.get("mem_002") is None
        assert await w.ledger.newest("mem_001", 10, None) == []


class _PlainHasher:
    async def hash(self, password: str) -> str:
        return password

    async def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == password


async def test_concurrent_orders_never_overdraw_the_balance(uow: UoW) -> None:
    service = MemberService(
        uow=uow, clock=ManualClock(), hasher=_PlainHasher(), tokens=JwtTokenIssuer(TokenSettings("s" * 32))
    )
    kim = await service.sign_up("kim@example.com", "Kim", "correct horse")
    await service.grant_points(kim.id, 1_000, "welcome")

    results = await asyncio.gather(
        *(service.use_points(kim.id, f"ord_{i % 6}", 300) for i in range(30)), return_exceptions=True
    )

    assert all(r is None or (isinstance(r, DomainError) and r.code == "INSUFFICIENT_POINTS") for r in results)
    after = await service.get_member(kim.id)
    entries = await service.ledger(kim.id, 100)
    assert after is not None and after.point_balance == 100
    assert sum(e.delta for e in entries) == after.point_balance


class _CountingTx:
    """A transaction that records the statements it runs (the repository's cost per use case)."""

    def __init__(self, tx: Tx, log: list[str]) -> None:
        self._tx, self._log, self.dialect = tx, log, tx.dialect

    async def execute(self, sql: str, params: Params | None = None) -> int:
        self._log.append(sql.split()[0])
        return await self._tx.execute(sql, params)

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self._log.append(sql.split()[0])
        await self._tx.executemany(sql, rows)

    async def write(self, sql: str, params: Params | None = None) -> None:
        self._log.append(sql.split()[0])
        await self._tx.write(sql, params)

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        self._log.append(sql.split()[0])
        return await self._tx.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        self._log.append(sql.split()[0])
        return await self._tx.fetchall(sql, params)


@pytest.mark.parametrize("backend", SQL_BACKENDS)
async def test_using_and_refunding_points_cost_four_statements_each(backend: str, tmp_path: Path) -> None:
    async with sql_database(backend, tmp_path, "member") as db:
        await migrate(db, MIGRATIONS)
        log: list[str] = []
        service = MemberService(
            uow=transaction_uow(db, lambda tx: SqlUnitOfWork(_CountingTx(tx, log))),
            clock=ManualClock(),
            hasher=_PlainHasher(),
            tokens=JwtTokenIssuer(TokenSettings("s" * 32)),
        )
        kim = await service.sign_up("kim@example.com", "Kim", "correct horse")
        await service.grant_points(kim.id, 1_000, "welcome")

        log.clear()
        await service.use_points(kim.id, "ord_1", 300)
        assert log == ["SELECT", "SELECT", "UPDATE", "INSERT"]  # lock, order's ledger, move, record
        log.clear()
        assert await service.refund_points(kim.id, "ord_1") == 300
        assert log == ["SELECT", "SELECT", "UPDATE", "INSERT"]

        after = await service.get_member(kim.id)
        assert after is not None and after.point_balance == 1_000
        assert [(e.delta, e.balance_after) for e in await service.ledger(kim.id)] == [
            (300, 1_000),
            (-300, 700),
            (1_000, 1_000),
        ]


@pytest.mark.parametrize("backend", SQL_BACKENDS)
async def test_members_from_before_the_locale_migration_write_in_korean(backend: str, tmp_path: Path) -> None:
    async with sql_database(backend, tmp_path, "member") as db:
        await migrate(db, MIGRATIONS, to="member_0001")
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO members (id, email, name, password_hash, role, status, point_balance, created_at) "
                "VALUES ('mem_001', 'm1@example.com', 'Member 1', 'h', 'member', 'ACTIVE', 0, :at)",
                {"at": "2026-01-01T00:00:00.000Z"},
            )
        assert len((await migrate(db, MIGRATIONS)).applied) == 4
        async with sql_uow(db, ManualClock())() as w:
            assert await w.members.get("mem_001") == member()


async def test_attempts_are_counted_per_key_and_window_and_none_is_lost(uow: UoW) -> None:
    window, later = T0, T0 + timedelta(minutes=15)

    async def one_more(key: str) -> None:
        async with uow() as u:
            await u.attempts.add([key, "login-from:10.0.0.1"], window)

    await asyncio.gather(*(one_more("login:kim@example.com") for _ in range(6)))
    async with uow() as u:
        await u.attempts.add(["login:kim@example.com"], later)
        counts = await u.attempts.counts(["login:kim@example.com", "login-from:10.0.0.1", "x"], window)
        assert counts == {"login:kim@example.com": 6, "login-from:10.0.0.1": 6, "x": 0}
        assert await u.attempts.forget_before(later) == 2  # the first window's two keys
        await u.attempts.clear("login:kim@example.com")
        assert await u.attempts.counts(["login:kim@example.com"], later) == {"login:kim@example.com": 0}


async def test_a_retired_account_cannot_log_in(uow: UoW) -> None:
    members = MemberService(
        uow=uow,
        clock=ManualClock(),
        hasher=_PlainHasher(),
        tokens=JwtTokenIssuer(TokenSettings(secret="s" * 32)),
    )
    await members.ensure_admin("admin@market.test", "admin-demo-password")
    assert await members.retire("admin@market.test")
    assert not await members.retire("admin@market.test")  # once
    with pytest.raises(DomainError) as caught:
        await members.login("admin@market.test", "admin-demo-password")
    assert caught.value.code == "UNAUTHORIZED"
