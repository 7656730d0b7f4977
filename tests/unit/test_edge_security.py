"""The app's edge, in both modes (the embedded one has no gateway in front): a body cap, no internals in
/readyz, /metrics for admins and the scrape token only, the benchmark's echo only when enabled, and the
demo accounts (published passwords) only on a loopback address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from market.bootstrap import demo
from market.bootstrap.apps import embedded_app
from market.bootstrap.status import metrics_headers
from market.bootstrap.wiring import operations
from market.settings import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, Settings
from market.web.app import build_app
from tests.asgi_app import started

ADMIN = {"admin_email": "ops@market.test", "admin_password": "ops-password-1"}


def problem_of(r: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = r.json()
    assert body["code"] == code
    return body


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(data_dir=tmp_path, metrics_token="scrape-token-123", max_body_bytes=1000, **ADMIN)
    async with started(embedded_app(settings)) as c:
        yield c


async def token(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_a_body_over_the_cap_is_413_whether_declared_or_streamed(client: httpx.AsyncClient) -> None:
    big = b'{"email": "' + b"a" * 2000 + b'", "name": "x", "password": "correct horse"}'
    problem_of(await client.post("/api/v1/members", content=big), 413, "PAYLOAD_TOO_LARGE")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for i in range(0, len(big), 100):
            yield big[i : i + 100]

    problem_of(await client.post("/api/v1/members", content=chunks()), 413, "PAYLOAD_TOO_LARGE")
    small = {"email": "kim@market.test", "name": "Kim", "password": "correct horse"}
    assert (await client.post("/api/v1/members", json=small)).status_code == 201


async def test_metrics_need_an_admin_or_the_scrape_token(client: httpx.AsyncClient) -> None:
    problem_of(await client.get("/metrics"), 401, "UNAUTHORIZED")
    problem_of(await client.get("/metrics", headers={"Authorization": "Bearer wrong"}), 401, "UNAUTHORIZED")
    await client.post(
        "/api/v1/members", json={"email": "kim@market.test", "name": "Kim", "password": "correct horse"}
    )
    member = await token(client, "kim@market.test", "correct horse")
    problem_of(await client.get("/metrics", headers=member), 403, "FORBIDDEN")
    admin = await token(client, "ops@market.test", "ops-password-1")
    assert "market_http_requests_total" in (await client.get("/metrics", headers=admin)).text
    scrape = {"Authorization": "Bearer scrape-token-123"}
    assert "market_http_requests_total" in (await client.get("/metrics", headers=scrape)).text


async def test_echo_exists_only_for_the_benchmark(client: httpx.AsyncClient, tmp_path: Path) -> None:
    problem_of(await client.post("/api/v1/echo", json={"a": 1}), 404, "NOT_FOUND")
    app = embedded_app(Settings(data_dir=tmp_path / "bench", bench_echo=True, **ADMIN))
    async with started(app) as bench:
        assert (await bench.post("/api/v1/echo", json={"a": 1})).json() == {"a": 1}


async def test_readiness_names_what_failed_and_nothing_of_why() -> None:
    async def database() -> None:
        raise ConnectionError("connect to 10.1.2.3:3306 as market_admin failed: password rejected")

    app = build_app("test", [], {"database": database})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as c:
        r = await c.get("/readyz")
    body = problem_of(r, 503, "NOT_READY")
    assert body["failed"] == ["database"]
    assert "10.1.2.3" not in r.text and "password" not in r.text


async def demo_admin_can_log_in(settings: Settings) -> bool:
    async with started(embedded_app(settings)) as c:
        r = await c.post(
            "/api/v1/auth/token", json={"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
        )
        return r.status_code == 200


async def test_demo_accounts_only_on_loopback_and_a_real_admin_retires_the_demo_admin(
    tmp_path: Path,
) -> None:
    assert not await demo_admin_can_log_in(Settings(data_dir=tmp_path / "asked-not", **ADMIN))
    local = Settings(data_dir=tmp_path)  # loopback, no admin configured: the demo, with a warning
    assert await demo_admin_can_log_in(local)
    exposed = local.model_copy(update={"host": "0.0.0.0"})
    with pytest.raises(demo.UnsafeExposure, match="demo admin"):
        await demo_admin_can_log_in(exposed)
    with pytest.raises(demo.UnsafeExposure, match="MARKET_DEMO_DATA"):
        await demo_admin_can_log_in(exposed.model_copy(update={"demo_data": True}))
    configured = exposed.model_copy(update=ADMIN)
    assert not await demo_admin_can_log_in(configured)  # retired: it serves, without the demo admin
    assert not await demo_admin_can_log_in(local)  # and it stays retired


def test_market_status_reads_the_metrics_with_a_token_of_its_own(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    operations(settings).may_read_metrics(metrics_headers(settings)["Authorization"])  # no refusal
    scraping = settings.model_copy(update={"metrics_token": "scrape-token-123"})
    assert metrics_headers(scraping) == {"Authorization": "Bearer scrape-token-123"}
