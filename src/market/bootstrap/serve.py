"""Serving a composition root's app: one HTTP server configuration for `market serve` and `market service`."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from market import platform
from market.bootstrap import heap
from market.infra.sqlite import SqliteDatabase
from market.pg_sandbox.http import create_sandbox_app
from market.settings import Settings


def serve(app: FastAPI, settings: Settings, port: int) -> None:
    # Idle keep-alive connections outlive the gateway's (4 s), so nginx never reuses one being closed.
    # The logs are ours (cli._logging): every line in one format. The client's address is the gateway's
    # forwarded one only from the trusted proxies (login throttling counts by address).
    uvicorn.run(
        app, host=settings.host, port=port, log_level=settings.log_level, log_config=None, loop="uvloop",
        http="httptools", access_log=False, timeout_keep_alive=30, timeout_graceful_shutdown=5,
        proxy_headers=True, forwarded_allow_ips=settings.trusted_proxies,
    )  # fmt: skip


def service(settings: Settings, name: str, replica: int = 0) -> None:
    """`market service NAME --replica I`: one replica of a service, or the PG sandbox's server."""
    if name == "pg-sandbox":
        app = create_sandbox_app(SqliteDatabase(settings.state_dir / "pg_sandbox.db"), settings.pg_secret_key)
        heap.settle()  # the sandbox holds no more at start-up than it has now: its app, its routes
        serve(app, settings, settings.pg_port)
        return
    from market.bootstrap.apps import service_app

    port = platform.service(name).http_port + platform.PORT_STRIDE * replica
    serve(service_app(settings, name, replica, serving=True), settings, port)


def embedded(settings: Settings) -> None:
    """`market serve`: the whole platform in this process."""
    from market.bootstrap.apps import embedded_app

    serve(embedded_app(settings, serving=True), settings, settings.port)
