"""Domain errors carry a stable code; the REST adapter maps codes to HTTP statuses."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A broken business rule or a missing object, named by a stable code (SPEC §4, §5)."""

    def __init__(self, code: str, detail: str = "", **extra: Any) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail or code.replace("_", " ").capitalize()
        self.extra = extra


class NotFound(DomainError):
    def __init__(self, what: str) -> None:
        super().__init__("NOT_FOUND", f"{what} not found")


class Unavailable(Exception):
    """A dependency (another service, the PG, the broker) could not be reached; nothing was decided."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is unavailable")
        self.what = what
