"""Fast lanes: the hottest routes served without FastAPI's per-request machinery, answering the same.

FastAPI resolves dependencies, checks headers and body in Python and serialises through a response model
on every request: FastAPI, Starlette and pydantic took 16.8 % of the embedded server's main thread under
`market bench`, 4.0 % with the lanes (docs/performance.md). A lane serves a route that the framework also
declares (OpenAPI, every error response and its precedence stay the framework's): its handler answers only
the requests it can answer exactly as the route would, and returns None for any other, which then goes to
the framework untouched (its body replayed) — so a malformed, unauthenticated or unusual request gets the
framework's answer, byte for byte. Errors raised by the use case behind a lane (DomainError, Unavailable,
…) become the same problem+json as on the framework's path (`problems.response_for`); anything else
propagates to the server-error handler as it would from a route.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from market.web import problems

Handler = Callable[[Request], Awaitable[Response | None]]
_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class LaneRoute:
    """What the metrics middleware reads from `scope["route"]`: the route's template."""

    path: str


class FastLanes:
    """Lanes by method and path template, e.g. ("GET", "/api/v1/orders/{order_id}"); filled at start-up."""

    def __init__(self) -> None:
        self._exact: dict[tuple[str, str], tuple[Handler, LaneRoute]] = {}
        self._patterns: list[tuple[str, re.Pattern[str], Handler, LaneRoute]] = []

    def add(self, method: str, path: str, handler: Handler) -> None:
        route = LaneRoute(path)
        if "{" not in path:
            self._exact[(method, path)] = (handler, route)
            return
        parts = _PARAM.split(path)  # literal, name, literal, name, …
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
        pattern = re.compile(regex + "$")
        self._patterns.append((method, pattern, handler, route))

    def match(self, method: str, path: str) -> tuple[Handler, LaneRoute, dict[str, str]] | None:
        hit = self._exact.get((method, path))
        if hit is not None:
            return hit[0], hit[1], {}
        for lane_method, pattern, handler, route in self._patterns:
            if lane_method == method and (m := pattern.match(path)) is not None:
                return handler, route, m.groupdict()
        return None


class FastLaneMiddleware:
    """Sits inside the metrics middleware: a laned request is counted under its route like any other."""

    def __init__(self, app: ASGIApp, lanes: FastLanes) -> None:
        self.app, self.lanes = app, lanes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hit = self.lanes.match(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if hit is None:
            await self.app(scope, receive, send)
            return
        handler, route, params = hit
        messages = await _read_body(receive)
        replay = _replaying(messages, receive)
        lane_scope = {**scope, "path_params": params, "route": route}
        request = Request(lane_scope, replay)
        try:
            response = await handler(request)
        except Exception as exc:
            response = problems.response_for(exc)
            if response is None:
                scope["route"] = route
                raise
        if response is None:  # declined: the framework answers, as if the lane were not there
            await self.app(scope, _replaying(messages, receive), send)
            return
        scope["route"] = route
        await response(lane_scope, replay, send)


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
