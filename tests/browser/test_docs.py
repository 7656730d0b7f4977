"""The API reference works with the network off: Swagger UI and Redoc from the platform's own files, and
Swagger UI's "Authorize" takes a Bearer token."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import shot


def offline(page: Page, base_url: str) -> list[str]:
    """Abort every request that leaves the server; the list of what was tried."""
    tried: list[str] = []

    def route(r: Route) -> None:
        if r.request.url.startswith(base_url):
            r.continue_()
        else:
            tried.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return tried


def test_swagger_ui_loads_offline_and_authorizes_with_a_bearer_token(page: Page) -> None:
    base = page.context.pages[0].url or ""
    tried = offline(
        page, page.evaluate("() => location.origin") if base.startswith("http") else "http://127.0.0.1"
    )
    page.goto("/docs")
    expect(page.get_by_text("/api/v1/orders/preview")).to_be_visible()
    page.get_by_role("button", name="Authorize").first.click()
    expect(page.get_by_text("bearer  (http, Bearer)")).to_be_visible()
    shot(page, "docs-authorize")
    assert not [u for u in tried if u.endswith((".js", ".css"))], tried


def test_redoc_loads_offline(page: Page) -> None:
    tried = offline(page, "http://127.0.0.1")
    page.goto("/redoc")
    expect(page.get_by_role("heading", name="Place an order").first).to_be_visible(timeout=20_000)
    assert not [u for u in tried if u.endswith((".js", ".css"))], tried
