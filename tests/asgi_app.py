"""An app started in the test's own event loop, as a server starts it, and a client that calls it in process.

Starlette's `TestClient` does the same from a thread of its own, and is deprecated with httpx. As in the REST
suites, every answer must be one the app's OpenAPI document lists (tests/openapi_conformance.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from tests.openapi_conformance import conforming


@asynccontextmanager
async def started(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Runs the app's lifespan (start-up on entry, shut-down on exit) around a client bound to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        hooks = {"response": [conforming(app.openapi())]}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", event_hooks=hooks
        ) as client:
            yield client
