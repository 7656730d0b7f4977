"""One request, one span: the server span of web.tracing, and none of FastAPI's own telemetry, which a
configured tracer provider switches on by default and which more than doubled a small request's CPU."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from opentelemetry.sdk.trace import Tracer

from market.infra import tracing
from market.web.app import build_app


async def test_a_request_makes_one_span_whatever_fastapi_would_add(monkeypatch: pytest.MonkeyPatch) -> None:
    tracing.setup("test")  # an SDK tracer provider, as every process of the platform has
    started: list[str] = []
    start_span = Tracer.start_span

    def counted(self: Tracer, name: str, *args: Any, **kwargs: Any) -> Any:
        started.append(name)
        return start_span(self, name, *args, **kwargs)

    monkeypatch.setattr(Tracer, "start_span", counted)
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    app = build_app("spans", [router], {})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/api/v1/things/t1")
    assert response.json() == {"id": "t1"}
    assert started == ["GET"]  # web.tracing's server span, named by its method until routed
