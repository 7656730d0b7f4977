from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.client import Api
from tests.e2e.deployment import Deployment, EmbeddedServer, from_environment
from tests.openapi_conformance import conforming

pytestmark = pytest.mark.e2e

# The API reference users read; every answer the suite gets, in either mode, must be one it lists.
API_REFERENCE = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    d = from_environment(Path(tmp_path_factory.mktemp("embedded")))
    if isinstance(d, EmbeddedServer):
        d.start()
    yield d
    if isinstance(d, EmbeddedServer):
        d.stop()


@pytest.fixture
async def http(deployment: Deployment) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=100)
    hooks = {"response": [conforming(API_REFERENCE)]}
    async with httpx.AsyncClient(
        base_url=deployment.base_url, timeout=30, limits=limits, event_hooks=hooks
    ) as client:
        yield client


@pytest.fixture
async def api(http: httpx.AsyncClient, deployment: Deployment) -> Api:
    return Api(http, await Api.login(http, deployment.admin_email, deployment.admin_password))


@pytest.fixture(autouse=True)
def audited(deployment: Deployment) -> Iterator[None]:
    """After every scenario, the invariants of SPEC §8 hold (the product's own auditor says so)."""
    yield
    result = deployment.audit(wait=60)
    assert result.returncode == 0, f"audit failed:\n{result.stdout}\n{result.stderr}"
