"""The fast lanes in front of the framework (market.web.app.MarketAPI): what a client and an operator see."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from prometheus_client import REGISTRY
from starlette.requests import Request
from starlette.responses import Response

from market.kernel.errors import DomainError
from market.web.app import MarketAPI, build_app
from market.web.lanes import FastLanes, Handler


def counted(route: str, status: int, method: str = "GET") -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("market_http_requests_total", labels) or 0.0


def app_with(lane: Handler) -> MarketAPI:
    """`GET /api/v1/things/{thing_id}` as a route that answers 418 and a lane in front of it."""
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: str) -> Response:
        return Response(f"route {thing_id}", status_code=418)

    lanes = FastLanes()
    lanes.add("GET", "/api/v1/things/{thing_id}", lane)
    return build_app("test", [router], {}, lanes=lanes)


def client(app: MarketAPI) -> httpx.AsyncClient:
    # As a server would: the response the app sent is seen even when the app raises afterwards.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_a_lane_answers_declines_and_its_answers_are_counted_under_the_route() -> None:
    async def lane(request: Request) -> Response | None:
        if request.path_params["thing_id"] == "mine":
            return Response("lane mine", status_code=200)
        return None

    route = "/api/v1/things/{thing_id}"
    before = counted(route, 200), counted(route, 418)
    async with client(app_with(lane)) as http:
        answered = await http.get("/api/v1/things/mine")
        declined = await http.get("/api/v1/things/yours")
    assert (answered.status_code, answered.text) == (200, "lane mine")
    assert (declined.status_code, declined.text) == (418, "route yours")  # the framework's own route
    assert (counted(route, 200), counted(route, 418)) == (before[0] + 1, before[1] + 1)


async def test_a_use_case_error_in_a_lane_is_its_problem_json() -> None:
    async def lane(request: Request) -> Response | None:
        raise DomainError("OUT_OF_STOCK", "no more things")

    async with client(app_with(lane)) as http:
        answer = await http.get("/api/v1/things/mine")
    assert answer.status_code == 409 and answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "OUT_OF_STOCK" and answer.json()["detail"] == "no more things"


async def test_a_crash_in_a_lane_is_a_logged_500_problem_counted_as_such(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def lane(request: Request) -> Response | None:
        raise RuntimeError("disk on fire")

    route = "/api/v1/things/{thing_id}"
    before = counted(route, 500)
    with caplog.at_level(logging.ERROR, logger="market.web"):
        async with client(app_with(lane)) as http:
            answer = await http.get("/api/v1/things/mine")
    assert answer.status_code == 500 and answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "INTERNAL_ERROR" and "disk on fire" not in answer.text
    logged = [r for r in caplog.records if r.getMessage() == "unhandled error on GET /api/v1/things/mine"]
    assert logged and logged[0].exc_info is not None and "disk on fire" in str(logged[0].exc_info[1])
    assert counted(route, 500) == before + 1


async def test_the_echo_ceiling_goes_through_a_lane_and_a_non_json_body_gets_the_routes_422() -> None:
    before = counted("/api/v1/echo", 200, "POST"), counted("/api/v1/echo", 422, "POST")

    async def no_things(request: Request) -> Response | None:
        return None

    async with client(app_with(no_things)) as http:
        echoed = await http.post("/api/v1/echo", content=b'{"a": [1, 2]}')
        refused = await http.post("/api/v1/echo", content=b"{not json")
    assert (echoed.status_code, echoed.content) == (200, b'{"a": [1, 2]}')
    assert echoed.headers["content-type"] == "application/json"
    assert refused.status_code == 422 and refused.json()["code"] == "VALIDATION_ERROR"
    after = counted("/api/v1/echo", 200, "POST"), counted("/api/v1/echo", 422, "POST")
    assert after == (before[0] + 1, before[1] + 1)


async def test_a_laned_answer_skips_the_framework_middleware_and_a_declined_request_goes_through_it() -> None:
    seen: list[str] = []

    async def lane(request: Request) -> Response | None:
        return Response("lane") if request.path_params["thing_id"] == "mine" else None

    app = app_with(lane)

    @app.middleware("http")
    async def note(request: Request, call_next: Any) -> Response:
        seen.append(request.url.path)
        response: Response = await call_next(request)
        return response

    async with client(app) as http:
        assert (await http.get("/api/v1/things/mine")).text == "lane"
        assert (await http.get("/api/v1/things/yours")).status_code == 418
    assert seen == ["/api/v1/things/yours"]
