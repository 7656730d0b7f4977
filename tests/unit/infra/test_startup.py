"""A start-up step that needs a server waits for it for a while instead of failing at once."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest

from market.infra.kafka import KafkaTransport
from market.infra.startup import when_reachable
from market.kernel.errors import Unavailable
from market.settings import Settings


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


async def test_a_replica_whose_broker_is_down_when_it_joins_its_groups_waits_for_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The broker went down between preparing the topics and joining the groups (`market chaos` saw it):
    the replica keeps trying instead of failing its start-up, and leaves no half-started consumer behind."""
    kafka = KafkaTransport(Settings(kafka_bootstrap="127.0.0.1:1"), "reporting")  # nothing listens on 1
    kafka.subscriber.subscribe("order.events", "reporting", _Nothing())

    async with AsyncExitStack() as stack:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(kafka.consume(stack), timeout=1.5)

    assert kafka.subscriber._consumers == []
    assert len([r for r in caplog.records if "Kafka is not reachable yet" in r.getMessage()]) >= 2


class _Nothing:
    async def handle_batch(self, envelopes: object) -> None: ...

    async def handle(self, envelope: object) -> None: ...
