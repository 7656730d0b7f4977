"""Browser tests: Playwright drives Debian's Chromium (scripts/infra/chromium.sh installs it; Playwright's own
browser downloads are never used) against the embedded server (or, with MARKET_E2E_BASE_URL, the deployment the end-to-end suite runs on:
the distributed mode through its gateway), as a member and an operator would.

Each test saves screenshots of the pages it passes through into the artifacts directory
(MARKET_TEST_ARTIFACTS, default .local/test-artifacts/browser); with MARKET_UPDATE_SCREENSHOTS=1 also into
docs/screenshots/, the pictures the README shows. Without Chromium the tests are skipped, unless
MARKET_TEST_REQUIRE_BROWSER=1 (scripts/test sets it), which makes that a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.data import Shop
from tests.e2e.deployment import Deployment, EmbeddedServer, from_environment

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MARKET_CHROMIUM", "/usr/bin/chromium")
# Headless, and nothing that reaches out: no QUIC, no updates, no sync, no background requests.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(os.environ.get("MARKET_TEST_ARTIFACTS", REPO / ".local" / "test-artifacts" / "browser"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("MARKET_TEST_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"no Chromium at {CHROMIUM}: run scripts/infra/chromium.sh")
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (scripts/infra/chromium.sh installs it)")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


def start(tmp: Path, **env: str) -> EmbeddedServer:
    server = EmbeddedServer.create(tmp)
    server.start_timeout = 120.0
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        server.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """The embedded server the tests start, or (MARKET_E2E_BASE_URL) the deployment the e2e suite runs on."""
    deployment = from_environment(tmp_path_factory.mktemp("browser"))
    if not isinstance(deployment, EmbeddedServer):
        yield deployment
        return
    deployment.start_timeout = 120.0
    deployment.start()
    yield deployment
    deployment.stop()


@pytest.fixture(scope="session")
def shop(server: Deployment) -> Iterator[Shop]:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        yield Shop.of(http, server.admin_email, server.admin_password)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, server: Deployment) -> Iterator[Page]:
    context = browser.new_context(base_url=server.base_url, viewport={"width": 1280, "height": 900})
    context.add_init_script("localStorage.setItem('market.lang', 'en')")
    p = context.new_page()
    p.set_default_timeout(15_000)
    yield p
    context.close()


def shot(page: Page, name: str) -> None:
    """A full-page screenshot into the artifacts (and docs/screenshots/ when asked to update them)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    if os.environ.get("MARKET_UPDATE_SCREENSHOTS") == "1":
        page.screenshot(path=REPO / "docs" / "screenshots" / f"{name}.png", full_page=True)
