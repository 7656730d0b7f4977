"""The PG/BNPL sandbox core: Toss v1 wire shapes, idempotency keys, persistence, and the BNPL gateway."""

from __future__ import annotations

from pathlib import Path

import pytest

from market.infra.migrations import migrate
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import ManualClock
from market.kernel.errors import DomainError
from market.payment.adapters.toss import TossBnplGateway
from market.pg_sandbox.core import MIGRATIONS, Sandbox
from market.pg_sandbox.transport import InProcessTransport
from tests.unit.payment.conftest import START

CONFIRM = {"paymentKey": "pk_test_ok", "orderId": "ord_1", "amount": 6_000}


async def test_confirm_answers_a_toss_payment_object(world_sandbox: Sandbox) -> None:
    reply = await world_sandbox.confirm(CONFIRM, "idem-1")

    assert (reply.status, reply.lost) == (200, False)
    body = reply.body
    assert {
        k: body[k]
        for k in ("orderId", "status", "totalAmount", "balanceAmount", "method", "currency", "cancels")
    } == {
        "orderId": "ord_1",
        "status": "DONE",
        "totalAmount": 6_000,
        "balanceAmount": 6_000,
        "method": "카드",
        "currency": "KRW",
        "cancels": None,
    }
    assert body["approvedAt"] == "2026-03-01T18:00:00+09:00"  # Toss speaks KST
    assert body["paymentKey"].startswith("tpk_")
    assert body["suppliedAmount"] + body["vat"] == 6_000


async def test_errors_have_toss_codes_and_statuses(world_sandbox: Sandbox) -> None:
    declined = await world_sandbox.confirm({**CONFIRM, "paymentKey": "pk_test_decline"})
    assert (declined.status, declined.body["code"]) == (403, "REJECT_CARD_PAYMENT")
    assert declined.body["message"]
    missing = await world_sandbox.payment_by_order("ord_none")
    assert (missing.status, missing.body["code"]) == (404, "NOT_FOUND_PAYMENT")
    bad = await world_sandbox.confirm({**CONFIRM, "amount": "6000"})
    assert (bad.status, bad.body["code"]) == (400, "INVALID_REQUEST")
    await world_sandbox.confirm(CONFIRM)
    duplicate = await world_sandbox.confirm(CONFIRM)
    assert (duplicate.status, duplicate.body["code"]) == (400, "DUPLICATED_ORDER_ID")


async def test_the_same_idempotency_key_gets_the_stored_answer(world_sandbox: Sandbox) -> None:
    first = await world_sandbox.confirm(CONFIRM, "idem-1")
    again = await world_sandbox.confirm(CONFIRM, "idem-1")
    assert again == first
    cancel = await world_sandbox.cancel(
        first.body["paymentKey"], {"cancelReason": "x", "cancelAmount": 100}, "c-1"
    )
    assert (
        await world_sandbox.cancel(
            first.body["paymentKey"], {"cancelReason": "x", "cancelAmount": 100}, "c-1"
        )
        == cancel
    )
    assert (await world_sandbox.payment_by_order("ord_1")).body["balanceAmount"] == 5_900


async def test_a_5xx_is_not_stored_so_the_retry_succeeds(world_sandbox: Sandbox) -> None:
    body = {**CONFIRM, "paymentKey": "pk_test_5xx_once"}
    first = await world_sandbox.confirm(body, "idem-5")
    retry = await world_sandbox.confirm(body, "idem-5")
    assert (first.status, first.body["code"], retry.status) == (500, "FAILED_INTERNAL_SYSTEM_PROCESSING", 200)


async def test_cancels_are_listed_on_the_payment(world_sandbox: Sandbox) -> None:
    key = (await world_sandbox.confirm(CONFIRM)).body["paymentKey"]
    await world_sandbox.cancel(key, {"cancelReason": "one item", "cancelAmount": 1_000})
    reply = await world_sandbox.cancel(key, {"cancelReason": "the rest"})

    assert reply.body["status"] == "CANCELED"
    assert [(c["cancelAmount"], c["cancelReason"], c["refundableAmount"]) for c in reply.body["cancels"]] == [
        (1_000, "one item", 5_000),
        (5_000, "the rest", 0),
    ]
    again = await world_sandbox.cancel(key, {"cancelReason": "again"})
    assert (again.status, again.body["code"]) == (400, "ALREADY_CANCELED_PAYMENT")


async def test_a_restarted_sandbox_remembers_every_charge(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "pg.db")
    await migrate(db, MIGRATIONS)
    lost = await Sandbox(db, ManualClock(START)).confirm(
        {**CONFIRM, "paymentKey": "pk_test_timeout_after_charge"}
    )
    assert lost.lost
    await db.close()

    reopened = SqliteDatabase(tmp_path / "pg.db")
    found = await Sandbox(reopened, ManualClock(START)).payment_by_order("ord_1")
    assert (found.status, found.body["status"]) == (200, "DONE")
    await reopened.close()


async def test_bnpl_approves_refuses_and_cancels(world_sandbox: Sandbox) -> None:
    bnpl = TossBnplGateway(InProcessTransport(world_sandbox))
    contract = await bnpl.approve("bnpl_test_ok", "ord_b", "mem_1", 15_000)
    assert (contract.order_id, contract.amount, contract.status) == ("ord_b", 15_000, "APPROVED")
    assert await bnpl.approve("bnpl_test_ok", "ord_b", "mem_1", 15_000) == contract  # retried: same contract
    assert await bnpl.lookup("ord_b") == contract
    with pytest.raises(DomainError) as refused:
        await bnpl.approve("bnpl_test_reject", "ord_r", "mem_1", 15_000)
    assert refused.value.code == "BNPL_REJECTED"
    assert await bnpl.lookup("ord_r") is None

    cancelled = await bnpl.cancel("ord_b")
    assert cancelled is not None and cancelled.status == "CANCELED"
    assert await bnpl.cancel("ord_b") == cancelled
    assert await bnpl.cancel("ord_none") is None


@pytest.fixture
def world_sandbox(sandbox_db: SqliteDatabase) -> Sandbox:
    return Sandbox(sandbox_db, ManualClock(START))
