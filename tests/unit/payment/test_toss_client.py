"""What the Toss client sends and how it reads failures the sandbox does not stage: a PG that keeps failing,
a 504 from a proxy, a 404 that is not the PG's. Over a fake HTTP transport that records every request."""

from __future__ import annotations

import base64

import httpx
import pytest

from market.kernel.errors import DomainError, Unavailable
from market.payment.adapters.toss import HttpBnplGateway, TossCardGateway
from market.payment.ports import GatewayTimeout


class FakePg:
    """Answers every request with the next of `answers` (the last one repeats) and keeps what it was sent."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def cards(self) -> TossCardGateway:
        return TossCardGateway(
            "https://api.tosspayments.test/", "test_sk_x", transport=httpx.MockTransport(self)
        )


def failure(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": "..."})


async def test_a_pg_that_keeps_failing_is_asked_four_times_under_one_key_then_unavailable() -> None:
    pg = FakePg(failure(500, "FAILED_INTERNAL_SYSTEM_PROCESSING"))
    with pytest.raises(Unavailable):
        await pg.cards().confirm("pk_1", "ord_1", 6_000)

    assert len(pg.requests) == 4
    assert {r.headers["Idempotency-Key"] for r in pg.requests} == {"confirm-ord_1"}
    first = pg.requests[0]
    assert (first.method, first.url.path) == ("POST", "/v1/payments/confirm")
    assert first.headers["Authorization"] == "Basic " + base64.b64encode(b"test_sk_x:").decode()


async def test_a_504_is_no_answer_and_is_not_retried() -> None:
    pg = FakePg(httpx.Response(504, text="<html>gateway timeout</html>"))
    with pytest.raises(GatewayTimeout):
        await pg.cards().confirm("pk_1", "ord_1", 6_000)
    assert len(pg.requests) == 1


async def test_only_the_pgs_own_not_found_means_no_charge() -> None:
    assert await FakePg(failure(404, "NOT_FOUND_PAYMENT")).cards().lookup("ord_1") is None
    with pytest.raises(DomainError):  # a wrong base URL must not pass for "nothing charged"
        await FakePg(httpx.Response(404, text="Not Found")).cards().lookup("ord_1")


async def test_cancels_and_bnpl_calls_use_their_own_keys_and_paths() -> None:
    pg = FakePg(failure(400, "ALREADY_CANCELED_PAYMENT"), failure(404, "NOT_FOUND_PAYMENT"))
    with pytest.raises(DomainError) as refused:
        await pg.cards().cancel("tpk/1", "order cancelled", 1_000)
    assert refused.value.code == "PG_CANCEL_REFUSED"
    cancel = pg.requests[0]
    assert (cancel.url.raw_path, cancel.headers["Idempotency-Key"]) == (
        b"/v1/payments/tpk%2F1/cancel",
        "cancel-tpk/1-1000",
    )

    bnpl = FakePg(failure(404, "NOT_FOUND_CONTRACT"))
    gateway = HttpBnplGateway("http://pg.test", "test_sk_x", transport=httpx.MockTransport(bnpl))
    assert await gateway.cancel("ord_1") is None
    assert (bnpl.requests[0].url.path, bnpl.requests[0].headers["Idempotency-Key"]) == (
        "/v1/bnpl/orders/ord_1/cancel",
        "cancel-ord_1",
    )
