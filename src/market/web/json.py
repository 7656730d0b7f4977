"""Fast JSON responses and the list shape of SPEC §5: {"items": [...], "next_cursor": ...}."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson
from starlette.responses import JSONResponse

T = TypeVar("T")


class FastJSON(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def page(
    rows: Sequence[T], limit: int, render: Callable[[T], dict[str, Any]], cursor_of: Callable[[T], str]
) -> dict[str, Any]:
    """`rows` holds up to limit + 1 rows; the extra one only says that there is a next page."""
    items = list(rows[:limit])
    next_cursor = cursor_of(items[-1]) if len(rows) > limit and items else None
    return {"items": [render(r) for r in items], "next_cursor": next_cursor}
