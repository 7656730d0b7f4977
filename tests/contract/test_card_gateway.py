"""The CardGateway contract (SPEC §7): confirm, lookup by order id, full and partial cancel, idempotency,
and the sandbox's test keys. Every CardGateway adapter joins the `gateway` fixture's parameters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from market.infra.migrations import migrate
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import ManualClock
from market.kernel.errors import DomainError
from market.kernel.ids import new_id
from market.payment.adapters.toss import TossCardGateway
from market.payment.ports import CardGateway, GatewayTimeout
from market.pg_sandbox.core import MIGRATIONS, Sandbox
from market.pg_sandbox.transport import InProcessTransport

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["in-process sandbox"])
async def gateway(tmp_path: Path) -> AsyncIterator[CardGateway]:
    db = SqliteDatabase(tmp_path / "pg.db")
    await migrate(db, MIGRATIONS)
    yield TossCardGateway(InProcessTransport(Sandbox(db, ManualClock(T0))))
    await db.close()


def order() -> str:
    return new_id("ord")


async def test_confirm_charges_and_lookup_finds_the_charge(gateway: CardGateway) -> None:
    order_id = order()
    charge = await gateway.confirm("pk_test_ok", order_id, 6_000)

    assert (charge.order_id, charge.status, charge.total_amount, charge.balance_amount) == (
        order_id,
        "DONE",
        6_000,
        6_000,
    )
    assert charge.payment_key != "pk_test_ok"  # the PG mints its own key per charge
    assert charge.approved_at == T0
    assert await gateway.lookup(order_id) == charge
    assert await gateway.lookup(order()) is None


async def test_any_unknown_key_is_a_working_card(gateway: CardGateway) -> None:
    assert (await gateway.confirm("pk_live_something", order(), 1_000)).status == "DONE"


async def test_confirming_the_same_order_again_is_the_same_charge(gateway: CardGateway) -> None:
    order_id = order()
    first = await gateway.confirm("pk_test_ok", order_id, 6_000)
    again = await gateway.confirm("pk_test_ok", order_id, 6_000)

    assert again.payment_key == first.payment_key
    assert await gateway.lookup(order_id) == first


async def test_a_declined_card_charges_nothing(gateway: CardGateway) -> None:
    order_id = order()
    with pytest.raises(DomainError) as declined:
        await gateway.confirm("pk_test_decline", order_id, 6_000)
    assert declined.value.code == "PG_DECLINED"
    assert await gateway.lookup(order_id) is None


async def test_no_answer_and_nothing_charged(gateway: CardGateway) -> None:
    order_id = order()
    with pytest.raises(GatewayTimeout):
        await gateway.confirm("pk_test_timeout", order_id, 6_000)
    assert await gateway.lookup(order_id) is None


async def test_charged_but_the_answer_lost(gateway: CardGateway) -> None:
    order_id = order()
    with pytest.raises(GatewayTimeout):
        await gateway.confirm("pk_test_timeout_after_charge", order_id, 6_000)
    found = await gateway.lookup(order_id)
    assert found is not None and (found.status, found.total_amount) == ("DONE", 6_000)
    # Asking again (same idempotency key) hears the stored answer: the same single charge.
    assert await gateway.confirm("pk_test_timeout_after_charge", order_id, 6_000) == found


async def test_one_5xx_then_approved_charges_once(gateway: CardGateway) -> None:
    order_id = order()
    charge = await gateway.confirm("pk_test_5xx_once", order_id, 6_000)
    assert charge.status == "DONE"
    assert await gateway.confirm("pk_test_5xx_once", order_id, 6_000) == charge


async def test_partial_then_full_cancel(gateway: CardGateway) -> None:
    charge = await gateway.confirm("pk_test_ok", order(), 6_000)

    part = await gateway.cancel(charge.payment_key, "one item returned", 1_000)
    assert (part.status, part.total_amount, part.balance_amount) == ("PARTIAL_CANCELED", 6_000, 5_000)
    retried = await gateway.cancel(charge.payment_key, "one item returned", 1_000)
    assert retried.balance_amount == 5_000  # the same request again, not a second cancel

    rest = await gateway.cancel(charge.payment_key, "order cancelled")
    assert (rest.status, rest.balance_amount) == ("CANCELED", 0)
    assert await gateway.lookup(charge.order_id) == rest


async def test_cancelling_twice_is_harmless(gateway: CardGateway) -> None:
    charge = await gateway.confirm("pk_test_ok", order(), 6_000)
    first = await gateway.cancel(charge.payment_key, "order cancelled")
    again = await gateway.cancel(charge.payment_key, "order failed")
    assert (first.status, again.status, again.balance_amount) == ("CANCELED", "CANCELED", 0)


async def test_cancelling_more_than_the_balance_or_an_unknown_charge_is_refused(gateway: CardGateway) -> None:
    charge = await gateway.confirm("pk_test_ok", order(), 6_000)
    with pytest.raises(DomainError):
        await gateway.cancel(charge.payment_key, "too much", 6_001)
    with pytest.raises(DomainError):
        await gateway.cancel("tpk_unknown", "nothing there")
    assert (await gateway.lookup(charge.order_id)) == charge


async def test_partial_cancels_are_one_per_request_id_and_listed_with_their_reasons(
    gateway: CardGateway,
) -> None:
    charge = await gateway.confirm("pk_test_ok", order(), 6_000)

    await gateway.cancel(charge.payment_key, "partial cancellation cnl_1", 1_000, "cnl_1")
    again = await gateway.cancel(charge.payment_key, "partial cancellation cnl_1", 1_000, "cnl_1")
    assert again.balance_amount == 5_000  # the same cancellation sent again
    other = await gateway.cancel(charge.payment_key, "partial cancellation cnl_2", 1_000, "cnl_2")
    assert (other.status, other.balance_amount) == ("PARTIAL_CANCELED", 4_000)  # the same amount, its own

    found = await gateway.lookup(charge.order_id)
    assert found is not None
    assert [(c.amount, c.reason) for c in found.cancels] == [
        (1_000, "partial cancellation cnl_1"),
        (1_000, "partial cancellation cnl_2"),
    ]
