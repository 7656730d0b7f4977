"""Time is injected so that windows (the 24-hour cancel window, reconciler ages) can be tested."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: the 24-hour cancel window and leases are tested with it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        self._now = when


@lru_cache(maxsize=4096)  # a payment's or an order's timestamps are written again on every save
def iso(when: datetime | None) -> str | None:
    """UTC ISO-8601 with milliseconds and a Z; sorts the same as the instants it names."""
    if when is None:
        return None
    if when.tzinfo is not UTC:
        when = when.astimezone(UTC)
    # isoformat is C code: about half the cost of strftime; "+00:00" becomes "Z".
    return when.isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_iso(text: str | None) -> datetime | None:
    if text is None:
        return None
    when = datetime.fromisoformat(text)  # reads the "Z" since Python 3.11
    return when if when.tzinfo is UTC else when.astimezone(UTC)


def parse_iso_required(text: str) -> datetime:
    """A stored timestamp that must be there (a NOT NULL column): ValueError if it is missing."""
    when = parse_iso(text) if text else None
    if when is None:
        raise ValueError(f"a timestamp is required, got {text!r}")
    return when
