"""What operators rely on: /healthz, /readyz and /metrics answer on the running app."""

from __future__ import annotations

from pathlib import Path

import pytest

from market.bootstrap.apps import embedded_app
from market.cli import main
from market.settings import Settings
from tests.asgi_app import started


async def test_health_readiness_and_metrics(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, admin_email="ops@market.test", admin_password="ops-password-1")
    async with started(embedded_app(settings)) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        assert (await client.get("/api/v1/products")).status_code == 200
        missing = await client.get("/api/v1/orders/ord_nope")
        assert missing.status_code == 401 and missing.headers["content-type"] == "application/problem+json"
        login = {"email": "ops@market.test", "password": "ops-password-1"}
        token = (await client.post("/api/v1/auth/token", json=login)).json()["access_token"]
        laned = await client.get("/api/v1/orders/ord_nope", headers={"Authorization": f"Bearer {token}"})
        assert laned.status_code == 404 and laned.json()["code"] == "NOT_FOUND"  # answered by the fast lane
        metrics = (await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})).text
        assert 'market_http_requests_total{method="GET",route="/api/v1/products",status="200"}' in metrics
        assert 'route="/api/v1/orders/{order_id}",status="401"' in metrics
        assert 'route="/api/v1/orders/{order_id}",status="404"' in metrics
        assert "market_http_request_seconds_bucket" in metrics
        assert 'market_outbox_backlog{service="order"} 0.0' in metrics
        assert 'market_outbox_backlog{service="payment"} 0.0' in metrics


def test_seed_creates_the_admin_and_demo_data_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "MARKET_ADMIN_EMAIL": "ops@market.test",
        "MARKET_ADMIN_PASSWORD": "ops-password-1",
        "MARKET_DEMO_DATA": "true",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        assert main(["seed", "--data-dir", str(tmp_path)]) == 0
        first = capsys.readouterr().out
        assert main(["seed", "--data-dir", str(tmp_path)]) == 0
        second = capsys.readouterr().out
    assert "demo data created" in first and "alice@market.test" in first
    assert "demo data created" not in second
    assert main(["audit", "--data-dir", str(tmp_path)]) == 0
