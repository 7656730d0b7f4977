"""A start-up step that needs a server waits for it for a while instead of failing at once."""

from __future__ import annotations

import pytest

from market.infra.startup import when_reachable
from market.kernel.errors import Unavailable


async def test_a_server_that_comes_back_is_waited_for() -> None:
    calls: list[int] = []

    async def migrate() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise Unavailable("database")
        return "migrated"

    assert await when_reachable(migrate, "the database", seconds=10) == "migrated"
    assert len(calls) == 3


async def test_a_server_that_stays_away_fails_the_start_with_its_error() -> None:
    async def connect() -> None:
        raise ConnectionRefusedError("127.0.0.1:9092")

    with pytest.raises(ConnectionRefusedError):
        await when_reachable(connect, "Kafka", seconds=0.5)


async def test_any_other_error_fails_at_once() -> None:
    calls: list[int] = []

    async def broken() -> None:
        calls.append(1)
        raise ValueError("a bad setting")

    with pytest.raises(ValueError):
        await when_reachable(broken, "Kafka", seconds=10)
    assert calls == [1]
