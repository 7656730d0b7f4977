"""The Idempotency-Key use case: Stripe's contract, scoped to the member."""

from __future__ import annotations

from datetime import timedelta

import pytest

from market.kernel.errors import DomainError
from market.order.domain import Replay, Started
from market.order.use_cases.idempotency import Keyed
from tests.unit.order.fakes import World, pg

BODY = '{"id":"ord_1","status":"PENDING"}'


def keyed(fingerprint: str, member_id: str = "mem_1", key: str = "k1") -> Keyed:
    return Keyed(member_id, key, fingerprint)


async def refused(world: World, fingerprint: str, member_id: str = "mem_1") -> str:
    with pytest.raises(DomainError) as error:
        await world.keys.begin(keyed(fingerprint, member_id))
    return error.value.code


async def finish(world: World, fingerprint: str, body: str = BODY, member_id: str = "mem_1") -> None:
    async with world.service._uow() as uow:
        await uow.idempotency_keys.finish(member_id, "k1", 201, body, world.clock.now())


async def test_the_same_request_again_replays_the_stored_response(world: World) -> None:
    assert await world.keys.begin(keyed("fp-a")) == Started()
    await finish(world, "fp-a")
    world.clock.advance(timedelta(hours=23))
    assert await world.keys.begin(keyed("fp-a")) == Replay(201, BODY)


async def test_the_key_with_another_request_is_refused_as_reused(world: World) -> None:
    await world.keys.begin(keyed("fp-a"))
    assert await refused(world, "fp-b") == "IDEMPOTENCY_KEY_REUSED"
    await finish(world, "fp-a")
    assert await refused(world, "fp-b") == "IDEMPOTENCY_KEY_REUSED"


async def test_the_same_request_while_the_first_runs_is_refused_as_in_use(world: World) -> None:
    await world.keys.begin(keyed("fp-a"))
    world.clock.advance(timedelta(seconds=59))
    assert await refused(world, "fp-a") == "IDEMPOTENCY_KEY_IN_USE"


async def test_a_failed_request_leaves_no_trace_so_the_key_can_be_retried(world: World) -> None:
    world.member(points=0)
    world.catalog.add("prd_a", 5_000, stock=0)

    async def place() -> None:
        await world.service.place("mem_1", "k1", [("prd_a", 1)], [pg(5_000)])

    with pytest.raises(DomainError, match="OUT_OF_STOCK"):
        await place()
    world.catalog.stock["prd_a"] = 5
    await place()  # the same key, the same request: placed this time
    assert len(world.state.orders) == 1


async def test_a_request_in_flight_for_a_minute_crashed_and_its_key_is_taken_over(world: World) -> None:
    await world.keys.begin(keyed("fp-a"))
    world.clock.advance(timedelta(seconds=61))
    assert await world.keys.begin(keyed("fp-a")) == Started(resumed=True)
    assert await refused(world, "fp-a") == "IDEMPOTENCY_KEY_IN_USE"
    await finish(world, "fp-a")
    assert await world.keys.begin(keyed("fp-a")) == Replay(201, BODY)


async def test_keys_belong_to_their_member(world: World) -> None:
    await world.keys.begin(keyed("fp-a"))
    await finish(world, "fp-a")
    assert await world.keys.begin(keyed("fp-other", "mem_bob")) == Started()


async def test_replays_are_kept_24_hours_then_forgotten(world: World) -> None:
    await world.keys.begin(keyed("fp-a"))
    await finish(world, "fp-a")
    world.clock.advance(timedelta(hours=23, minutes=59))
    assert await world.service.forget_expired_keys() == 0
    world.clock.advance(timedelta(minutes=2))
    assert await world.service.forget_expired_keys() == 1
    assert await world.keys.begin(keyed("fp-b")) == Started()


async def test_a_placement_replays_its_first_answer_byte_for_byte(world: World) -> None:
    world.member(points=0)
    world.catalog.add("prd_a", 5_000)
    first = await world.service.place("mem_1", "k1", [("prd_a", 1)], [pg(5_000)])
    again = await world.service.place("mem_1", "k1", [("prd_a", 1)], [pg(5_000)])
    assert (again.status, again.body, again.order_id) == (201, first.body, first.order_id)
    assert len(world.state.orders) == 1
    with pytest.raises(DomainError, match="IDEMPOTENCY_KEY_REUSED"):
        await world.service.place("mem_1", "k1", [("prd_a", 2)], [pg(10_000)])
