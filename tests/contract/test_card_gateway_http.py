"""The CardGateway contract over the wire: TossCardGateway (and TossBnplGateway) talking to the sandbox's own
HTTP server on a loopback socket, plus what only a network adds: the secret key, read timeouts, a 504,
5xx retries under one idempotency key, and a PG that is down."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import ManualClock
from market.kernel.errors import DomainError, Unavailable
from market.payment.adapters.toss import HttpTransport, TossBnplGateway, TossCardGateway
from market.payment.ports import GatewayTimeout
from market.pg_sandbox.core import SLOW_SECONDS
from market.pg_sandbox.http import create_sandbox_app
from tests.contract import test_card_gateway as contract
from tests.contract.test_card_gateway import T0, order

SECRET = "test_sk_contract"
TIMEOUT = SLOW_SECONDS + 0.3  # the client's: a slow PG is within it
HANG = TIMEOUT + 1  # how long the server holds a no-answer request: longer, so the client hears nothing

# The port's scenarios, collected again in this module so that they run against this module's `gateway`.
globals().update({name: test for name, test in vars(contract).items() if name.startswith("test_")})


@dataclass(frozen=True)
class Pg:
    url: str
    db_path: Path

    def rows(self, sql: str, *params: object) -> int:
        """One number from the sandbox's database, read beside the running server."""
        with closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)) as conn:
            return int(conn.execute(sql, params).fetchone()[0])

    def charges(self, order_id: str) -> int:
        return self.rows("SELECT COUNT(*) FROM sandbox_card_payments WHERE order_id = ?", order_id)


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pg]:
    """The sandbox's HTTP server, in its own thread and event loop, on 127.0.0.1 and a free port."""
    db_path = tmp_path_factory.mktemp("pg") / "pg_sandbox.db"
    app = create_sandbox_app(SqliteDatabase(db_path), SECRET, clock=ManualClock(T0), hang_seconds=HANG)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the sandbox server did not start"
        time.sleep(0.01)
    yield Pg(f"http://127.0.0.1:{sock.getsockname()[1]}", db_path)
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
async def gateway(pg: Pg) -> AsyncIterator[TossCardGateway]:
    cards = TossCardGateway(HttpTransport(pg.url, SECRET, timeout=TIMEOUT))
    yield cards
    await cards.close()


@pytest.fixture
async def bnpl(pg: Pg) -> AsyncIterator[TossBnplGateway]:
    gateway = TossBnplGateway(HttpTransport(pg.url, SECRET, timeout=TIMEOUT))
    yield gateway
    await gateway.close()


async def test_a_wrong_secret_key_is_refused_and_charges_nothing(pg: Pg, gateway: TossCardGateway) -> None:
    order_id = order()
    async with httpx.AsyncClient(base_url=pg.url) as raw:
        assert (await raw.get("/healthz")).status_code == 200  # health needs no key
        refused = await raw.post(
            "/v1/payments/confirm",
            json={"paymentKey": "pk_test_ok", "orderId": order_id, "amount": 1_000},
            auth=("test_sk_wrong", ""),
        )
    assert (refused.status_code, refused.json()["code"]) == (401, "UNAUTHORIZED_KEY")

    wrong = TossCardGateway(HttpTransport(pg.url, "test_sk_wrong", timeout=TIMEOUT))
    with pytest.raises(Unavailable):
        await wrong.confirm("pk_test_ok", order_id, 1_000)
    await wrong.close()
    assert await gateway.lookup(order_id) is None


async def test_no_answer_is_a_read_timeout_well_before_the_server_lets_go(
    pg: Pg, gateway: TossCardGateway
) -> None:
    order_id = order()
    started = time.monotonic()
    with pytest.raises(GatewayTimeout):
        await gateway.confirm("pk_test_timeout", order_id, 6_000)
    assert TIMEOUT - 0.05 <= time.monotonic() - started < HANG
    assert await gateway.lookup(order_id) is None
    assert pg.charges(order_id) == 0


async def test_a_patient_client_hears_a_504_which_is_no_answer_too(pg: Pg) -> None:
    order_id = order()
    patient = TossCardGateway(HttpTransport(pg.url, SECRET, timeout=HANG + 2))
    started = time.monotonic()
    with pytest.raises(GatewayTimeout):
        await patient.confirm("pk_test_timeout_after_charge", order_id, 6_000)
    assert HANG - 0.1 <= time.monotonic() - started < HANG + 1  # one attempt: a 504 is not retried
    found = await patient.lookup(order_id)
    await patient.close()
    assert found is not None and (found.status, found.total_amount) == ("DONE", 6_000)
    assert pg.charges(order_id) == 1


async def test_one_5xx_is_retried_under_the_same_key_and_charges_once(
    pg: Pg, gateway: TossCardGateway
) -> None:
    order_id = order()
    charge = await gateway.confirm("pk_test_5xx_once", order_id, 6_000)
    assert charge.status == "DONE"
    assert (
        pg.rows("SELECT COUNT(*) FROM sandbox_faults WHERE order_id = ?", order_id) == 1
    )  # the 500 was served
    assert pg.charges(order_id) == 1


async def test_the_same_confirm_sent_again_and_again_charges_once(pg: Pg, gateway: TossCardGateway) -> None:
    order_id = order()
    charges = await asyncio.gather(*(gateway.confirm("pk_test_ok", order_id, 6_000) for _ in range(3)))
    assert len({c.payment_key for c in charges}) == 1
    assert await gateway.confirm("pk_test_ok", order_id, 6_000) == charges[0]
    assert pg.charges(order_id) == 1


async def test_a_slow_pg_within_the_timeout_is_just_slow(pg: Pg, gateway: TossCardGateway) -> None:
    order_id = order()
    slow = asyncio.create_task(gateway.confirm("pk_test_slow", order_id, 6_000))
    await asyncio.sleep(SLOW_SECONDS / 2)
    assert await gateway.lookup(order_id) is None  # the server answers others meanwhile
    assert (await slow).status == "DONE"
    assert pg.charges(order_id) == 1


async def test_a_pg_that_is_down_is_unavailable_quickly() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = TossCardGateway(HttpTransport(f"http://127.0.0.1:{port}", SECRET, timeout=TIMEOUT))
    started = time.monotonic()
    with pytest.raises(Unavailable):
        await down.confirm("pk_test_ok", order(), 6_000)
    assert 0.65 <= time.monotonic() - started < 2  # three retries: 0.1 + 0.2 + 0.4 s of backoff
    await down.close()


async def test_bnpl_approves_refuses_and_cancels(bnpl: TossBnplGateway) -> None:
    order_id, rejected = order(), order()
    contract = await bnpl.approve("bnpl_test_ok", order_id, "mem_1", 15_000)
    assert (contract.order_id, contract.amount, contract.status) == (order_id, 15_000, "APPROVED")
    assert await bnpl.approve("bnpl_test_ok", order_id, "mem_1", 15_000) == contract  # retried: same contract
    assert await bnpl.lookup(order_id) == contract
    with pytest.raises(DomainError) as refused:
        await bnpl.approve("bnpl_test_reject", rejected, "mem_1", 15_000)
    assert refused.value.code == "BNPL_REJECTED"
    assert await bnpl.lookup(rejected) is None

    cancelled = await bnpl.cancel(order_id)
    assert cancelled is not None and cancelled.status == "CANCELED"
    assert await bnpl.cancel(order_id) == cancelled
    assert await bnpl.cancel(order()) is None


async def test_bnpl_cancels_in_part_once_per_request_then_the_balance(bnpl: TossBnplGateway) -> None:
    order_id = order()
    await bnpl.approve("bnpl_test_ok", order_id, "mem_1", 30_000)

    part = await bnpl.cancel(order_id, 10_000, "cnl_1", "partial cancellation cnl_1")
    assert part is not None and (part.status, part.balance_amount) == ("PARTIAL_CANCELED", 20_000)
    assert await bnpl.cancel(order_id, 10_000, "cnl_1", "partial cancellation cnl_1") == part  # sent again
    other = await bnpl.cancel(order_id, 10_000, "cnl_2", "partial cancellation cnl_2")
    assert other is not None and other.balance_amount == 10_000
    with pytest.raises(DomainError):
        await bnpl.cancel(order_id, 10_001, "cnl_3", "too much")
    rest = await bnpl.cancel(order_id)
    assert rest is not None and (rest.status, rest.balance_amount) == ("CANCELED", 0)
    found = await bnpl.lookup(order_id)
    assert found is not None
    assert [(c.amount, c.reason) for c in found.cancels] == [
        (10_000, "partial cancellation cnl_1"),
        (10_000, "partial cancellation cnl_2"),
        (10_000, "cancelled"),
    ]
