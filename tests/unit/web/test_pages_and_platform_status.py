"""The embedded app serves the browser's pages and the API reference from its own files, and the platform's
status to admins."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from market import platform
from market.bootstrap.apps import embedded_app
from market.settings import Settings
from tests.asgi_app import started

ADMIN = {"email": "ops@market.test", "password": "ops-password-1"}


async def test_pages_and_docs_are_served_from_the_package_with_no_outside_url(tmp_path: Path) -> None:
    async with started(embedded_app(Settings(data_dir=tmp_path, demo_data=False))) as client:
        for page in ("/console/", "/shop/"):
            html = await client.get(page)
            assert html.status_code == 200 and '<script type="module" src="./app.js">' in html.text
        assert (await client.get("/console")).status_code in (301, 307)
        for asset in (
            "/shop/app.js",
            "/console/panels.js",
            "/assets/lib.js",
            "/assets/vendor/htm-preact-3.1.1.module.js",
        ):
            assert (await client.get(asset)).status_code == 200, asset
        for docs in ("/docs", "/redoc"):
            page = (await client.get(docs)).text
            urls = re.findall(r"""(?:src|href)=["']([^"']+)""", page) + re.findall(
                r"""url: ?['"]([^'"]+)""", page
            )
            assert urls and all(u.startswith("/") for u in urls), (docs, urls)
            for url in urls:
                assert (await client.get(url)).status_code == 200, url


async def test_the_platform_status_lists_every_service_and_the_reconciler_for_admins_only(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, reconcile_interval_seconds=0.1, admin_email=ADMIN["email"],
                        admin_password=ADMIN["password"])  # fmt: skip
    async with started(embedded_app(settings)) as client:
        token = (await client.post("/api/v1/auth/token", json=ADMIN)).json()["access_token"]
        admin = {"Authorization": f"Bearer {token}"}
        await asyncio.sleep(0.5)  # a run of the reconciler
        status = (await client.get("/api/v1/admin/platform", headers=admin)).json()
        rows = {s["name"]: s["replicas"] for s in status["services"]}
        assert list(rows) == [s.name for s in platform.SERVICES]
        assert all(len(r) == 1 and r[0]["ready"] for r in rows.values())
        assert (rows["order"][0]["outbox_backlog"], rows["member"][0]["outbox_backlog"]) == (0, None)
        assert (rows["payment"][0]["consumer_lag"], rows["member"][0]["consumer_lag"]) == (0, None)
        assert status["reconciler"]["in_flight"] == {"PROCESSING": 0, "COMPENSATING": 0, "REFUNDING": 0}
        assert (await client.get("/api/v1/admin/platform")).status_code == 401
