"""A placement reads the member, its products and its coupon while its Idempotency-Key is claimed, not
after: one wait fewer on the way to the 201."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from market.kernel.errors import Unavailable
from market.order.ports import MemberSnapshot
from tests.unit.order.fakes import World
from tests.unit.order.rest_kit import post_order, problem


async def test_the_member_is_read_while_the_key_is_claimed(http: httpx.AsyncClient, world: World) -> None:
    reading = asyncio.Event()
    get_member, begin = world.members.get_member, world.keys.begin

    async def get_member_seen(member_id: str) -> MemberSnapshot | None:
        reading.set()
        return await get_member(member_id)

    async def claim_once_the_member_is_being_read(*args: Any, **kwargs: Any) -> Any:
        # Had the reads waited for the claim, this would time out (and the request fail).
        await asyncio.wait_for(reading.wait(), 2)
        return await begin(*args, **kwargs)

    world.members.get_member = get_member_seen  # type: ignore[method-assign]
    world.keys.begin = claim_once_the_member_is_being_read  # type: ignore[method-assign]
    placed = await post_order(http, key="k1")
    assert placed.status_code == 201, placed.text
    assert list(world.state.orders) == [placed.json()["id"]]


async def test_a_replay_answers_even_when_the_reads_it_started_fail(
    http: httpx.AsyncClient, world: World
) -> None:
    first = await post_order(http, key="k1")
    assert first.status_code == 201

    async def member_service_down(member_id: str) -> MemberSnapshot | None:
        raise Unavailable("member")

    world.members.get_member = member_service_down  # type: ignore[method-assign]
    again = await post_order(http, key="k1")
    assert (again.status_code, again.content) == (201, first.content)
    # A new placement needs the member: it answers that the member service is unreachable, keeps no key.
    problem(await post_order(http, key="k2"), 503, "UPSTREAM_UNAVAILABLE")
    assert len(world.state.orders) == 1 and world.state.keys.keys() == {("mem_1", "k1")}
