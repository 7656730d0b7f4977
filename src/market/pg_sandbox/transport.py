"""The sandbox as the embedded mode's PG: the payment service's Toss client speaks to it in process.

It answers as the HTTP server would (`Sandbox.dispatch`), minus the network: an answer the core marks lost
is a 504, as the server's held request ends, and the core failing is Toss's 500.
"""

from __future__ import annotations

import logging
from typing import Any

from market.pg_sandbox import wire
from market.pg_sandbox.core import Sandbox

log = logging.getLogger("market.pg_sandbox")


class InProcessTransport:
    """The transport port of `market.payment.adapters.toss`, served by the sandbox in this process."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None, idempotency_key: str | None
    ) -> tuple[int, dict[str, Any]]:
        try:
            reply = await self._sandbox.dispatch(method, path, body, idempotency_key)
        except Exception:
            log.exception("the sandbox failed on %s %s", method, path)
            reply = wire.fail(wire.INTERNAL)
        if reply.lost:
            reply = wire.fail(wire.HELD_UNANSWERED)
        return reply.status, reply.body
