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

from market.infra import tracing
from market.infra.migrations import migrate
from market.kernel.clock import Clock, SystemClock
from market.kernel.db import Database
from market.pg_sandbox import wire
from market.pg_sandbox.core import MIGRATIONS, Reply, Sandbox
from market.pg_sandbox.faults import Faults
from market.web.json import FastJSON

log = logging.getLogger("market.payment.sandbox")

UNAUTHORIZED_KEY = (401, "UNAUTHORIZED_KEY", "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.")


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

    app = FastAPI(
        title="market PG/BNPL sandbox (Toss Payments v1)", version="1.0.0", lifespan=lifespan,
        telemetry=tracing.NO_FASTAPI_TELEMETRY,
    )  # fmt: skip
    app.include_router(_v1(Sandbox(db, clock or SystemClock()), secret_key, hang_seconds))
    app.add_exception_handler(_Refused, _refused)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)

    @app.get("/healthz", summary="The sandbox is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _v1(sandbox: Sandbox, secret_key: str, hang_seconds: float) -> APIRouter:
    v1 = APIRouter(dependencies=[Depends(_basic_auth(secret_key))])

    @v1.put("/sandbox/faults", summary="The sandbox's own control: faults to inject (market chaos)")
    async def faults(request: Request) -> Response:
        body = await _body(request) or {}
        try:
            sandbox.faults = Faults(
                int(body.get("seed", 0)),
                float(body.get("server_error", 0)),
                float(body.get("answer_lost", 0)),
            )
        except (TypeError, ValueError):
            return FastJSON(wire.fail(wire.INVALID_REQUEST).body, status_code=400)
        return FastJSON(vars(sandbox.faults))

    @v1.api_route("/v1/{path:path}", methods=["GET", "POST"], summary="The Toss Payments v1 wire API")
    async def api(request: Request) -> Response:
        body = await _body(request) if request.method == "POST" else None
        heard = await sandbox.dispatch(request.method, request.url.path, body, _key(request))
        if heard.lost:
            await _hold(request, hang_seconds)
            heard = wire.fail(wire.HELD_UNANSWERED)
        return FastJSON(heard.body, status_code=heard.status)

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


async def _body(request: Request) -> dict[str, Any] | None:
    """The JSON object of a POST, None if there is none (the core refuses it where one is needed)."""
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


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
