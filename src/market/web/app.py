"""Builds a FastAPI app from routers: problem+json, request metrics, /healthz, /readyz, /metrics, OpenAPI."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from market.web import api_errors, problems
from market.web.json import FastJSON
from market.web.metrics import observe

API_PREFIX = "/api/v1"
ReadyCheck = Callable[[], Awaitable[None]]


class MetricsMiddleware:
    """Counts and times requests by route template (not raw path, so ids don't explode the label set)."""

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

        try:
            await self.app(scope, receive, capture)
        finally:
            observe(scope["method"], self._route(scope), status, time.perf_counter() - start)


def build_app(
    title: str,
    routers: Sequence[APIRouter],
    ready_checks: dict[str, ReadyCheck],
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    """The app of `routers` (more may be included later, e.g. in `lifespan`)."""
    app = FastAPI(
        title=title,
        version="1.0.0",
        lifespan=lifespan,
        default_response_class=FastJSON,
        description="Order & payment platform. Errors are application/problem+json with a stable `code`.",
        docs_url=None,  # served from local assets by market.web.browser
        redoc_url=None,
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
        failed: dict[str, str] = {}
        for name, check in ready_checks.items():
            try:
                await check()
            except Exception as exc:
                failed[name] = str(exc) or type(exc).__name__
        if failed:
            return problems.problem(503, "NOT_READY", "some dependencies are not reachable", checks=failed)
        return FastJSON({"status": "ready", "checks": sorted(ready_checks)})

    @app.post("/api/v1/echo", tags=["operations"], include_in_schema=False)
    async def echo(request: Request) -> Response:
        """Answers its JSON body: the benchmark's ceiling of this server stack (parse, route, answer)."""
        body = await request.body()
        try:
            orjson.loads(body or b"null")
        except orjson.JSONDecodeError:
            return problems.problem(422, "VALIDATION_ERROR", "the body is not JSON")
        return Response(body, media_type="application/json")

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=PlainTextResponse)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(MetricsMiddleware)
    return app
