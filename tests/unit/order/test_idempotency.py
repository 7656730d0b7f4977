"""The Idempotency-Key use cases: Stripe's contract, scoped to the member."""

from __future__ import annotations

from datetime import timedelta

import pytest

from market.kernel.errors import DomainError
from market.order.domain import Replay, Started
from tests.unit.order.fakes import World

BODY = '{"id":"ord_1","status":"PENDING"}'


async def refused(world: World, member_id: str, key: str, fingerprint: str) -> str:
    with pytest.raises(DomainError) as error:
        await world.service.begin(member_id, key, fingerprint)
    return error.value.code


async def test_the_same_request_again_replays_the_stored_response(world: World) -> None:
    assert await world.service.begin("mem_1", "k1", "fp-a") == Started()
    await world.service.complete("mem_1", "k1", 201, BODY)
    world.clock.advance(timedelta(hours=23))
    assert await world.service.begin("mem_1", "k1", "fp-a") == Replay(201, BODY)


async def test_the_key_with_another_request_is_refused_as_reused(world: World) -> None:
    await world.service.begin("mem_1", "k1", "fp-a")
    assert await refused(world, "mem_1", "k1", "fp-b") == "IDEMPOTENCY_KEY_REUSED"
    await world.service.complete("mem_1", "k1", 201, BODY)
    assert await refused(world, "mem_1", "k1", "fp-b") == "IDEMPOTENCY_KEY_REUSED"


async def test_the_same_request_while_the_first_runs_is_refused_as_in_use(world: World) -> None:
    await world.service.begin("mem_1", "k1", "fp-a")
    world.clock.advance(timedelta(seconds=59))
    assert await refused(world, "mem_1", "k1", "fp-a") == "IDEMPOTENCY_KEY_IN_USE"


async def test_a_failed_request_leaves_no_trace_so_the_key_can_be_retried(world: World) -> None:
    await world.service.begin("mem_1", "k1", "fp-a")
    await world.service.abandon("mem_1", "k1")
    assert await world.service.begin("mem_1", "k1", "fp-a") == Started()
    await world.service.complete("mem_1", "k1", 409, '{"code":"OUT_OF_STOCK"}')  # a non-2xx is not stored
    assert await world.service.begin("mem_1", "k1", "fp-b") == Started()


async def test_a_request_in_flight_for_a_minute_crashed_and_its_key_is_taken_over(world: World) -> None:
    await world.service.begin("mem_1", "k1", "fp-a")
    world.clock.advance(timedelta(seconds=61))
    assert await world.service.begin("mem_1", "k1", "fp-a") == Started(resumed=True)
    assert await refused(world, "mem_1", "k1", "fp-a") == "IDEMPOTENCY_KEY_IN_USE"
    await world.service.complete("mem_1", "k1", 201, BODY)
    assert await world.service.begin("mem_1", "k1", "fp-a") == Replay(201, BODY)


async def test_keys_belong_to_their_member(world: World) -> None:
    await world.service.begin("mem_1", "k1", "fp-a")
    await world.service.complete("mem_1", "k1", 201, BODY)
    assert await world.service.begin("mem_bob", "k1", "fp-other") == Started()


async def test_replays_are_kept_24_hours_then_forgotten(world: World) -> None:
    await world.service.begin("mem_1", "k1", "fp-a")
    await world.service.complete("mem_1", "k1", 201, BODY)
    world.clock.advance(timedelta(hours=23, minutes=59))
    assert await world.service.forget_expired_keys() == 0
    world.clock.advance(timedelta(minutes=2))
    assert await world.service.forget_expired_keys() == 1
    assert await world.service.begin("mem_1", "k1", "fp-b") == Started()
