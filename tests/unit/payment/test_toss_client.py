"""What the Toss client sends and how it reads failures the sandbox does not stage: a PG that keeps failing,
a 504 from a proxy, a 404 that is not the PG's, a dropped connection, a redirect. Against a fake PG on a
loopback port that records every request."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import orjson
import pytest
from aiohttp import web
from multidict import CIMultiDict

from market.kernel.errors import DomainError, Unavailable
from market.payment.adapters.toss import HttpTransport, TossBnplGateway, TossCardGateway
from market.payment.ports import GatewayTimeout

Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Heard(NamedTuple):
    method: str
    raw_path: str
    headers: CIMultiDict[str]
    body: bytes


class FakePg:
    """Answers every request with the next of `answers` (the last one repeats) and keeps what it was sent.
    `async with` serves it on 127.0.0.1; the gateways it hands out are closed with it."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[Heard] = []
        self._runner = web.AppRunner(self._app())
        self.url = ""
        self._gateways: list[TossCardGateway | TossBnplGateway] = []

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        return app

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        heard = Heard(request.method, request.raw_path, CIMultiDict(request.headers), await request.read())
        self.requests.append(heard)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return await answer(request)

    async def __aenter__(self) -> FakePg:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for gateway in self._gateways:
            await gateway.close()
        await self._runner.cleanup()

    def cards(self) -> TossCardGateway:
        gateway = TossCardGateway(HttpTransport(self.url + "/", "test_sk_x", timeout=1.0))
        self._gateways.append(gateway)
        return gateway

    def bnpl(self) -> TossBnplGateway:
        gateway = TossBnplGateway(HttpTransport(self.url, "test_sk_x", timeout=1.0))
        self._gateways.append(gateway)
        return gateway


def reply(status: int, body: dict[str, Any] | None = None, text: str = "", **headers: str) -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        if body is None:
            return web.Response(status=status, text=text, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    return answer


def failure(status: int, code: str) -> Answer:
    return reply(status, {"code": code, "message": "..."})


async def hang_up(request: web.Request) -> web.StreamResponse:
    """Read the request, then drop the connection without a word: the PG may have acted."""
    assert request.transport is not None
    request.transport.abort()
    return web.Response()


def payment(order_id: str, amount: int) -> dict[str, Any]:
    return {
        "paymentKey": "tpk_1",
        "orderId": order_id,
        "status": "DONE",
        "totalAmount": amount,
        "balanceAmount": amount,
        "approvedAt": "2026-03-01T18:00:00+09:00",
    }


async def test_a_pg_that_keeps_failing_is_asked_four_times_under_one_key_then_unavailable() -> None:
    async with FakePg(failure(500, "FAILED_INTERNAL_SYSTEM_PROCESSING")) as pg:
        with pytest.raises(Unavailable):
            await pg.cards().confirm("pk_1", "ord_1", 6_000)

    assert len(pg.requests) == 4
    assert {r.headers["Idempotency-Key"] for r in pg.requests} == {"confirm-ord_1"}
    first = pg.requests[0]
    assert (first.method, first.raw_path) == ("POST", "/v1/payments/confirm")
    assert first.headers["Authorization"] == "Basic " + base64.b64encode(b"test_sk_x:").decode()


async def test_a_busy_pg_is_asked_again_under_the_same_key_with_the_same_body() -> None:
    async with FakePg(failure(429, "TOO_MANY_REQUESTS"), reply(200, payment("ord_1", 6_000))) as pg:
        charge = await pg.cards().confirm("pk_1", "ord_1", 6_000)

    assert (charge.order_id, charge.status, charge.total_amount) == ("ord_1", "DONE", 6_000)
    assert len(pg.requests) == 2
    assert {r.headers["Idempotency-Key"] for r in pg.requests} == {"confirm-ord_1"}
    for request in pg.requests:
        assert request.headers["Content-Type"] == "application/json"
        assert orjson.loads(request.body) == {"paymentKey": "pk_1", "orderId": "ord_1", "amount": 6_000}


async def test_a_504_is_no_answer_and_is_not_retried() -> None:
    async with FakePg(reply(504, text="<html>gateway timeout</html>")) as pg:
        with pytest.raises(GatewayTimeout):
            await pg.cards().confirm("pk_1", "ord_1", 6_000)
    assert len(pg.requests) == 1


async def test_a_connection_dropped_after_sending_is_no_answer_and_is_not_retried() -> None:
    async with FakePg(hang_up) as pg:
        with pytest.raises(GatewayTimeout):
            await pg.cards().confirm("pk_1", "ord_1", 6_000)
    assert len(pg.requests) == 1


async def test_a_redirect_is_not_followed() -> None:
    async with FakePg(reply(307, text="moved", Location="/elsewhere")) as pg:
        with pytest.raises(DomainError):
            await pg.cards().confirm("pk_1", "ord_1", 6_000)
    assert [r.raw_path for r in pg.requests] == ["/v1/payments/confirm"]


async def test_only_the_pgs_own_not_found_means_no_charge() -> None:
    async with FakePg(failure(404, "NOT_FOUND_PAYMENT")) as pg:
        assert await pg.cards().lookup("ord_1") is None
    async with FakePg(reply(404, text="Not Found")) as pg:
        with pytest.raises(DomainError):  # a wrong base URL must not pass for "nothing charged"
            await pg.cards().lookup("ord_1")


async def test_cancels_and_bnpl_calls_use_their_own_keys_and_paths() -> None:
    async with FakePg(failure(400, "ALREADY_CANCELED_PAYMENT"), failure(404, "NOT_FOUND_PAYMENT")) as pg:
        with pytest.raises(DomainError) as refused:
            await pg.cards().cancel("tpk/1", "order cancelled", 1_000)
    assert refused.value.code == "PG_CANCEL_REFUSED"
    cancel = pg.requests[0]
    assert (cancel.raw_path, cancel.headers["Idempotency-Key"]) == (
        "/v1/payments/tpk%2F1/cancel",
        "cancel-tpk/1-1000",
    )
    assert orjson.loads(cancel.body) == {"cancelReason": "order cancelled", "cancelAmount": 1_000}

    async with FakePg(failure(404, "NOT_FOUND_CONTRACT")) as bnpl:
        assert await bnpl.bnpl().cancel("ord_1") is None
    assert (bnpl.requests[0].raw_path, bnpl.requests[0].headers["Idempotency-Key"]) == (
        "/v1/bnpl/orders/ord_1/cancel",
        "cancel-ord_1",
    )
    assert bnpl.requests[0].body == b""
