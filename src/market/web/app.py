"""Builds a FastAPI app from routers: problem+json, tracing, request metrics and access log, a body cap,
/healthz, /readyz, /metrics (admin or scrape token), OpenAPI."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request, Security
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from market.infra import tracing
from market.infra.logs import ACCESS, ORDER_ID
from market.web import api_errors, problems
from market.web.auth import BEARER, Auth
from market.web.body_limit import DEFAULT_MAX_BODY_BYTES, BodyLimit
from market.web.json import FastJSON
from market.web.metrics import observe
from market.web.problems import ApiError
from market.web.tracing import STATUS, TracingMiddleware

API_PREFIX = "/api/v1"
ReadyCheck = Callable[[], Awaitable[None]]
log = logging.getLogger("market.web")


@dataclass(frozen=True)
class Operations:
    """What the operations endpoints let through (docs/configuration.md).

    `/metrics` answers an admin's Bearer token (`auth`) or the scrape token (`metrics_token`, for
    Prometheus), nobody else; `/api/v1/echo` (the benchmark's ceiling) exists only with `echo`.
    """

    auth: Auth | None = None
    metrics_token: str = ""
    echo: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def may_read_metrics(self, authorization: str) -> None:
        """Raise UNAUTHORIZED / FORBIDDEN unless the header is the scrape token or an admin's token."""
        scheme, _, token = authorization.partition(" ")
        scrape = self.metrics_token and scheme.lower() == "bearer"
        if scrape and hmac.compare_digest(token.strip().encode(), self.metrics_token.encode()):
            return
        if self.auth is None:
            raise ApiError("UNAUTHORIZED", "the metrics need the scrape token")
        if not self.auth.verify(authorization).is_admin:
            raise ApiError("FORBIDDEN", "the metrics need the admin role or the scrape token")


class MetricsMiddleware:
    """Counts and times requests by route template (not raw path, so ids don't explode the label set);
    with the access log on, a line per request, in its trace, with the order it names (path or handler)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def _route(scope: Scope) -> str:
        # The innermost matching router records its route in the scope: no second match here. Routes of
        # an included router carry their path relative to API_PREFIX.
        path = getattr(scope.get("route"), "path", None)
        if path is None:
            return "unmatched"
        if not scope["path"].startswith(path.split("{", 1)[0]):
            path = API_PREFIX + path
        return str(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        order = ORDER_ID.set(None)  # a handler that knows the order sets it
        try:
            await self.app(scope, receive, capture)
        finally:
            seconds, route = time.perf_counter() - start, self._route(scope)
            scope[STATUS] = status  # for the request's span (web.tracing)
            observe(scope["method"], route, status, seconds)
            if ACCESS.isEnabledFor(logging.INFO):
                if ORDER_ID.get() is None and "order_id" in scope.get("path_params", {}):
                    ORDER_ID.set(scope["path_params"]["order_id"])
                ACCESS.info("http %s %s %d %.1fms", scope["method"], route, status, seconds * 1000)
            ORDER_ID.reset(order)


def build_app(
    title: str,
    routers: Sequence[APIRouter],
    ready_checks: dict[str, ReadyCheck],
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    operations: Operations | None = None,
) -> FastAPI:
    """The app of `routers` (more may be included later, e.g. in `lifespan`)."""
    ops = operations or Operations()
    app = FastAPI(
        title=title,
        version="1.0.0",
        lifespan=lifespan,
        default_response_class=FastJSON,
        description="Order & payment platform. Errors are application/problem+json with a stable `code`.",
        docs_url=None,  # served from local assets by market.web.browser
        redoc_url=None,
        # FastAPI's own OpenTelemetry is off (infra.tracing.NO_FASTAPI_TELEMETRY): web.tracing makes the span.
        telemetry=tracing.NO_FASTAPI_TELEMETRY,
    )
    problems.install(app)
    api_errors.install(app)
    for router in routers:
        app.include_router(router, prefix=API_PREFIX)

    @app.get("/healthz", tags=["operations"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="Databases and the broker are reachable")
    async def readyz() -> Response:
        failed: list[str] = []
        for name, check in ready_checks.items():
            try:
                await check()
            except Exception:
                # The names only: what failed and why goes to the log, not to whoever asks.
                log.warning("readiness check %s failed", name, exc_info=True)
                failed.append(name)
        if failed:
            return problems.problem(503, "NOT_READY", "some dependencies are not reachable", failed=failed)
        return FastJSON({"status": "ready", "checks": sorted(ready_checks)})

    if ops.echo:

        @app.post("/api/v1/echo", tags=["operations"], include_in_schema=False)
        async def echo(request: Request) -> Response:
            """Answers its JSON body: the benchmark's ceiling of this server stack (parse, route, answer)."""
            body = await request.body()
            try:
                orjson.loads(body or b"null")
            except orjson.JSONDecodeError:
                return problems.problem(422, "VALIDATION_ERROR", "the body is not JSON")
            return Response(body, media_type="application/json")

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics (an admin's Bearer token, or the scrape token)",
        response_class=PlainTextResponse,
        dependencies=[Security(BEARER)],  # declares the scheme in the document; checked below
    )
    async def metrics(request: Request) -> Response:
        ops.may_read_metrics(request.headers.get("authorization", ""))
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(BodyLimit, limit=ops.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    # Outermost: the request's span (its traceparent's trace, or a new one) is current for everything.
    app.add_middleware(TracingMiddleware, untraced=frozenset({"/healthz", "/readyz", "/metrics"}))
    return app
