from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.openapi_conformance import conforming
from tests.unit.order.fakes import World
from tests.unit.order.rest_kit import app_of


@pytest.fixture
def world() -> World:
    """A member `mem_1` with 1,000 points, products prd_a (5,000 won, 3 in stock) and prd_b (2,000 won)."""
    w = World()
    w.member("mem_1", points=1_000)
    w.catalog.add("prd_a", 5_000, stock=3)
    w.catalog.add("prd_b", 2_000, stock=10)
    return w


@pytest.fixture
async def http(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the order router mounted at /api/v1 on a tiny app, over the world's service.

    Every answer must be one the app's OpenAPI document lists (tests/openapi_conformance.py)."""
    app = app_of(world)
    hooks = {"response": [conforming(app.openapi())]}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", event_hooks=hooks
    ) as client:
        yield client
