"""Fast lanes: the hottest routes served without FastAPI's per-request machinery, answering the same.

FastAPI resolves dependencies, checks headers and body in Python and serialises through a response model
on every request: FastAPI, Starlette and pydantic took 16.8 % of the embedded server's main thread under
`market bench`, 4.0 % with the lanes (docs/performance.md). Since the ninth round the lanes sit in front of
the framework's middleware stack too (`market.web.app.MarketAPI`), which cost a laned request about 30 µs
of CPU. A lane serves a route that the framework also declares (OpenAPI, every error response and its
precedence stay the framework's): its handler answers only the requests it can answer exactly as the route
would, and returns None for any other, which then goes to the framework untouched (its body replayed) — so
a malformed, unauthenticated or unusual request gets the framework's answer, byte for byte. Errors raised
by the use case behind a lane (DomainError, Unavailable, …) become the same problem+json as on the
framework's path (`problems.response_for`); anything else becomes the framework's 500, logged the same way
(`problems.crashed`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from market.web import metrics, problems

Handler = Callable[[Request], Awaitable[Response | None]]
_PARAM = re.compile(r"\{(\w+)\}")


class FastLanes:
    """Lanes by method and path template, e.g. ("GET", "/api/v1/orders/{order_id}"); filled at start-up."""

    def __init__(self) -> None:
        self._exact: dict[tuple[str, str], tuple[Handler, str]] = {}
        self._patterns: list[tuple[str, re.Pattern[str], Handler, str]] = []

    def add(self, method: str, path: str, handler: Handler) -> None:
        if "{" not in path:
            self._exact[(method, path)] = (handler, path)
            return
        parts = _PARAM.split(path)  # literal, name, literal, name, …
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
        pattern = re.compile(regex + "$")
        self._patterns.append((method, pattern, handler, path))

    def match(self, method: str, path: str) -> tuple[Handler, str, dict[str, str]] | None:
        """The lane of a request, its route's template (its metrics label) and its path parameters."""
        hit = self._exact.get((method, path))
        if hit is not None:
            return hit[0], hit[1], {}
        for lane_method, pattern, handler, route in self._patterns:
            if lane_method == method and (m := pattern.match(path)) is not None:
                return handler, route, m.groupdict()
        return None


async def serve(
    hit: tuple[Handler, str, dict[str, str]],
    scope: Scope,
    receive: Receive,
    send: Send,
    framework: ASGIApp,
) -> None:
    """Answer a request that `FastLanes.match` matched, in place of the whole framework stack.

    The lane's answer is counted in the request metrics under its route, as the framework's would be. A
    declined request goes to `framework` with its body replayed, and is counted there. An error the use
    case raises becomes its problem+json. Any other is handled as the framework's error middleware does:
    logged, answered with the 500 of `problems.crashed`, and raised again for the server to log.
    """
    start = time.perf_counter()
    handler, route, params = hit
    messages = await _read_body(receive)
    lane_scope = {**scope, "path_params": params}
    request = Request(lane_scope, _replaying(messages, receive))

    async def answer(response: Response) -> None:
        try:
            await response(lane_scope, request.receive, send)
        finally:
            metrics.observe(scope["method"], route, response.status_code, time.perf_counter() - start)

    try:
        response = await handler(request)
    except Exception as exc:
        response = problems.response_for(exc)
        if response is None:
            await answer(problems.crashed(scope["method"], scope["path"]))
            raise
    if response is None:  # declined: the framework answers, as if the lane were not there
        await framework(scope, _replaying(messages, receive), send)
        return
    await answer(response)


async def _read_body(receive: Receive) -> list[Message]:
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    pending: list[Any] = list(messages)

    async def replay() -> Message:
        if pending:
            message: Message = pending.pop(0)
            return message
        return await receive()

    return replay
