"""Query strings that say only what a route reads: an unknown filter is a 422, not silently ignored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request

from market.web.problems import ApiError

PAGE_FILTERS = {"cursor": "`next_cursor` of the previous page", "limit": "1 to 100 (default 20)"}
NO_LAG = "none: the owning service's own data, as committed."


def only(*names: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency that refuses (422 VALIDATION_ERROR) a query parameter not among `names`."""
    allowed = frozenset(names)

    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise ApiError(
                "VALIDATION_ERROR",
                f"unknown query parameter {', '.join(unknown)}; this list takes {', '.join(sorted(allowed))}",
            )

    return check


def described(filters: dict[str, str], lag: str) -> dict[str, Any]:
    """The OpenAPI `description` of a list: each filter, and how far behind its writes it may be."""
    lines = [f"- `{name}`: {what}" for name, what in filters.items()]
    return {"description": "Filters:\n\n" + "\n".join(lines) + f"\n\n**Lag:** {lag}"}
