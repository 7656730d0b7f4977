"""The PG/BNPL sandbox as its own HTTP server, speaking the Toss Payments v1 wire API (docs/pg-sandbox.md).

A thin skin over the core (`Sandbox`): Basic auth with the secret key on /v1, the `Idempotency-Key` header
passed on every POST, Toss's `{code, message}` error bodies with the core's statuses. An answer the core marks
lost is held unanswered for `hang_seconds` (a caller with a shorter timeout hears nothing) and then is a 504.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response

from market.infra.migrations import migrate
from market.kernel.clock import Clock, SystemClock
from market.kernel.db import Database
from market.payment.adapters import sandbox_wire as wire
from market.payment.adapters.sandbox import MIGRATIONS, Reply, Sandbox
from market.web.json import FastJSON

log = logging.getLogger("market.payment.sandbox")

UNAUTHORIZED_KEY = (401, "UNAUTHORIZED_KEY", "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.")
NO_ANSWER = (
    504,
    "GATEWAY_TIMEOUT",
    "The sandbox held this request without answering (a no-answer test key).",
)


class _Refused(Exception):
    """Answer `reply` at once, before the core is asked anything."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply


def create_sandbox_app(
    db: Database, secret_key: str, clock: Clock | None = None, hang_seconds: float = 30.0
) -> FastAPI:
    """The sandbox's HTTP app. It owns `db` from then on: migrates it at start-up, closes it at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await migrate(db, MIGRATIONS)
        try:
            yield
        finally:
            await db.close()

    app = FastAPI(title="market PG/BNPL sandbox (Toss Payments v1)", version="1.0.0", lifespan=lifespan)
    app.include_router(_v1(Sandbox(db, clock or SystemClock()), secret_key, hang_seconds))
    app.add_exception_handler(_Refused, _refused)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)

    @app.get("/healthz", summary="The sandbox is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _v1(sandbox: Sandbox, secret_key: str, hang_seconds: float) -> APIRouter:
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(_basic_auth(secret_key))])

    async def answer(request: Request, reply: Awaitable[Reply]) -> Response:
        heard = await reply
        if heard.lost:
            await _hold(request, hang_seconds)
            heard = wire.fail(NO_ANSWER)
        return FastJSON(heard.body, status_code=heard.status)

    @v1.post("/payments/confirm", summary="Confirm (charge) a payment: {paymentKey, orderId, amount}")
    async def confirm(request: Request) -> Response:
        return await answer(request, sandbox.confirm(await _body(request), _key(request)))

    @v1.post("/payments/{payment_key}/cancel", summary="Cancel all or part: {cancelReason, cancelAmount?}")
    async def cancel(payment_key: str, request: Request) -> Response:
        return await answer(request, sandbox.cancel(payment_key, await _body(request), _key(request)))

    @v1.get("/payments/orders/{order_id}", summary="The payment of an order")
    async def payment_by_order(order_id: str, request: Request) -> Response:
        return await answer(request, sandbox.payment_by_order(order_id))

    @v1.get("/payments/{payment_key}", summary="A payment by its payment key")
    async def payment(payment_key: str, request: Request) -> Response:
        return await answer(request, sandbox.payment(payment_key))

    @v1.post("/bnpl/approvals", summary="Approve a BNPL contract: {paymentKey, orderId, memberId, amount}")
    async def bnpl_approve(request: Request) -> Response:
        return await answer(request, sandbox.bnpl_approve(await _body(request), _key(request)))

    @v1.post("/bnpl/orders/{order_id}/cancel", summary="Cancel an order's BNPL contract")
    async def bnpl_cancel(order_id: str, request: Request) -> Response:
        return await answer(request, sandbox.bnpl_cancel(order_id, _key(request)))

    @v1.get("/bnpl/orders/{order_id}", summary="The BNPL contract of an order")
    async def bnpl_by_order(order_id: str, request: Request) -> Response:
        return await answer(request, sandbox.bnpl_by_order(order_id))

    return v1


def _basic_auth(secret_key: str) -> Callable[[Request], Awaitable[None]]:
    """Toss's scheme: `Authorization: Basic base64(secretKey + ":")`."""
    expected = f"{secret_key}:".encode()

    async def check(request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            given = base64.b64decode(token, validate=True)
        except ValueError:
            given = b""
        if scheme.lower() != "basic" or not secrets.compare_digest(given, expected):
            raise _Refused(wire.fail(UNAUTHORIZED_KEY))

    return check


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _Refused(wire.fail(wire.INVALID_REQUEST))
    return body


def _key(request: Request) -> str | None:
    return request.headers.get("idempotency-key") or None


async def _hold(request: Request, seconds: float) -> None:
    """Leave the request unanswered for `seconds`, or until the caller gives up and hangs up."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while (await request.receive())["type"] != "http.disconnect":  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # receive() waits already; this guards one that would not


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Refused)
    return FastJSON(exc.reply.body, status_code=exc.reply.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    body = {"code": HTTPStatus(exc.status_code).name, "message": str(exc.detail)}
    return FastJSON(body, status_code=exc.status_code, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("the sandbox failed on %s %s", request.method, request.url.path, exc_info=exc)
    return FastJSON(wire.fail(wire.INTERNAL).body, status_code=500)
