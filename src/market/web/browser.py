"""The browser's side of the platform, served from files in the package: no CDN, no build step.

- `/console/` the operators' console and `/shop/` the storefront: plain HTML and ES modules
  (`static/`), on Preact + htm vendored as one file (`static/assets/vendor/README.md`).
- `/docs` (Swagger UI, from the `swagger-ui-bundle-v2` package) and `/redoc` (Redoc, vendored), over the
  whole API's OpenAPI document, which declares the Bearer scheme so that "Authorize" works.

The embedded app installs it; in the distributed mode the console's service does (`platform.CONSOLE`), and
serves the whole platform's document (`static/openapi.json`, written by scripts/export-openapi), not only
its own routes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

STATIC = Path(__file__).parent / "static"
PLATFORM_DOCUMENT = STATIC / "openapi.json"
FAVICON = "/assets/favicon.svg"


def install(app: FastAPI, *, whole_platform_document: bool = False) -> None:
    """Mount the pages and the API docs on `app`; `whole_platform_document`: answer /openapi.json with the
    packaged document of every service's routes instead of the app's own (a distributed service's)."""
    if whole_platform_document:
        document: dict[str, Any] = json.loads(PLATFORM_DOCUMENT.read_text())
        app.openapi = lambda: document  # type: ignore[method-assign]
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title} — API"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url="/assets/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/assets/swagger-ui/swagger-ui.css",
            swagger_favicon_url=FAVICON,
            swagger_ui_parameters={"persistAuthorization": True, "displayRequestDuration": True},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url="/assets/vendor/redoc-2.5.4.standalone.js",
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        )

    # The more specific mount first: /assets/swagger-ui is not a folder of static/assets.
    app.mount("/assets/swagger-ui", StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")
    app.mount("/assets", StaticFiles(directory=STATIC / "assets"), name="assets")
    app.mount("/console", StaticFiles(directory=STATIC / "console", html=True), name="console")
    app.mount("/shop", StaticFiles(directory=STATIC / "shop", html=True), name="shop")
