"""A placement that crashed half-way: the retry with its key places no second order, and the stock of one
that never stored its order is given back by the sweep."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from market.kernel.errors import DomainError
from market.order.adapters.memory import MemoryIdempotencyKeys
from market.order.domain import Started
from market.order.use_cases.idempotency import Keyed
from tests.unit.order.fakes import World, pg
from tests.unit.order.rest_kit import post_order, problem, settle

LINES = [("prd_a", 2)]  # 10,000 won; prd_a has 3 in stock
MINUTE = timedelta(seconds=61)


async def crashed_after_reserving(
    world: World, key: str = "k1", fingerprint: str = "fp-a", lines: list[tuple[str, int]] = LINES
) -> str:
    """What a placement leaves when its process dies between reserving the stock and storing the order."""
    begun = await world.keys.begin(Keyed("mem_1", key, fingerprint), f"ord_{key}")
    assert isinstance(begun, Started) and begun.resource_id is not None
    await world.catalog.reserve_stock(begun.resource_id, lines)
    return begun.resource_id


async def test_a_retry_after_a_crash_once_the_order_was_stored_answers_that_order(
    http: httpx.AsyncClient, world: World
) -> None:
    # Only a placement that waits for the outcome stores its response after its order.
    stored = world.keys._finish

    async def crash(*_: object) -> None:
        raise SystemExit("the process dies before the response is stored")

    world.keys._finish = crash  # type: ignore[method-assign]
    paying = asyncio.create_task(settle(world, "pay", delay=0))
    with pytest.raises(SystemExit):
        await post_order(http, key="k1", Prefer="wait=5")
    await paying
    [placed] = world.state.orders
    world.keys._finish = stored  # type: ignore[method-assign]
    problem(await post_order(http, key="k1"), 409, "IDEMPOTENCY_KEY_IN_USE")  # in flight under a minute
    world.clock.advance(MINUTE)
    assert await world.service.release_abandoned_placements() == 0  # its order exists: left alone
    retry = await post_order(http, key="k1")
    assert retry.status_code == 201 and retry.json()["id"] == placed and retry.json()["status"] == "PAID"
    assert retry.headers["location"] == f"/api/v1/orders/{placed}"
    assert list(world.state.orders) == [placed] and len(world.events("OrderCreated")) == 1
    assert world.catalog.stock["prd_a"] == 2  # reserved once
    again = await post_order(http, key="k1")
    assert (again.status_code, again.content) == (201, retry.content)  # now stored for replays


async def test_a_placement_without_a_wait_stores_its_response_with_its_order(
    http: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crash(*_: object) -> None:
        raise SystemExit("the process dies while the key's answer is written")

    # In the order's own transaction: when storing the answer fails, the order is not stored either.
    monkeypatch.setattr(MemoryIdempotencyKeys, "finish", crash)
    with pytest.raises(SystemExit):
        await post_order(http, key="k1")
    assert world.state.orders == {} and world.catalog.stock["prd_a"] == 3
    monkeypatch.undo()
    first = await post_order(http, key="k1")
    assert first.status_code == 201
    use = world.state.keys[("mem_1", "k1")]
    assert (use.state, use.response_body) == ("DONE", first.text)
    world.clock.advance(MINUTE)
    assert await world.service.release_abandoned_placements() == 0
    again = await post_order(http, key="k1")
    assert (again.status_code, again.content) == (201, first.content)
    assert len(world.state.orders) == 1 and world.catalog.stock["prd_a"] == 2


async def test_the_stored_order_is_answered_as_it_is_without_checking_the_rules_again(world: World) -> None:
    begun = await world.keys.begin(Keyed("mem_1", "k1", "fp-a"), "ord_first")
    assert begun == Started("ord_first")
    order = await world.placing.place_order("mem_1", LINES, [pg(10_000)], Started("ord_first", resumed=True))
    await world.pay(order)
    world.catalog.add("prd_a", 5_000, stock=0, on_sale=False)  # it could not be placed now
    world.clock.advance(MINUTE)
    assert await world.keys.begin(Keyed("mem_1", "k1", "fp-a"), "ord_second") == Started(
        "ord_first", resumed=True
    )
    again = await world.placing.place_order("mem_1", LINES, [pg(10_000)], Started("ord_first", resumed=True))
    assert again.id == "ord_first" and again.status == "PAID"
    assert list(world.state.orders) == ["ord_first"] and len(world.events("OrderCreated")) == 1


async def test_a_retry_after_a_crash_before_the_order_was_stored_places_it_on_the_held_stock(
    world: World,
) -> None:
    order_id = await crashed_after_reserving(world)
    world.clock.advance(MINUTE)
    assert await world.keys.begin(Keyed("mem_1", "k1", "fp-a"), "ord_other") == Started(
        order_id, resumed=True
    )
    order = await world.placing.place_order("mem_1", LINES, [pg(10_000)], Started(order_id, resumed=True))
    assert order.id == order_id and world.catalog.stock["prd_a"] == 1  # reserved once, not twice
    assert await world.service.release_abandoned_placements() == 0
    assert world.catalog.released == []


async def test_the_sweep_gives_back_the_stock_of_a_placement_that_never_stored_its_order(
    world: World,
) -> None:
    order_id = await crashed_after_reserving(world)
    assert world.catalog.stock["prd_a"] == 1
    world.clock.advance(MINUTE)
    assert await world.service.release_abandoned_placements() == 1
    assert world.catalog.released == [order_id] and world.catalog.stock["prd_a"] == 3
    assert await world.keys.begin(Keyed("mem_1", "k1", "fp-a"), "ord_next") == Started("ord_next")
    assert await world.service.release_abandoned_placements() == 0


async def test_the_sweep_leaves_requests_in_flight_and_cancellations_alone(world: World) -> None:
    await crashed_after_reserving(world, key="old")
    world.clock.advance(timedelta(seconds=30))
    await crashed_after_reserving(world, key="new", lines=[("prd_b", 1)])
    await world.keys.begin(Keyed("mem_1", "cancel", "fp-cancel"))  # a cancellation's key: no order id
    world.clock.advance(timedelta(seconds=31))
    assert await world.service.release_abandoned_placements() == 1
    assert world.catalog.released == ["ord_old"]
    world.clock.advance(timedelta(hours=1))
    assert await world.service.release_abandoned_placements() == 1
    assert world.catalog.released == ["ord_old", "ord_new"]
    assert set(world.state.keys) == {("mem_1", "cancel")}


async def test_a_retry_while_the_sweep_holds_the_key_is_in_use_and_a_failed_release_is_retried(
    world: World,
) -> None:
    order_id = await crashed_after_reserving(world)
    world.clock.advance(MINUTE)
    world.catalog.release_unreachable = True
    assert await world.service.release_abandoned_placements() == 0
    with pytest.raises(DomainError) as refused:
        await world.keys.begin(Keyed("mem_1", "k1", "fp-a"), "ord_other")
    assert refused.value.code == "IDEMPOTENCY_KEY_IN_USE"
    world.catalog.release_unreachable = False
    assert await world.service.release_abandoned_placements() == 0  # claimed less than a minute ago
    world.clock.advance(MINUTE)
    assert await world.service.release_abandoned_placements() == 1
    assert world.catalog.released == [order_id] and world.catalog.stock["prd_a"] == 3


async def test_an_abandoned_placement_is_not_taken_over_by_another_request(world: World) -> None:
    await crashed_after_reserving(world, fingerprint="fp-a")
    world.clock.advance(MINUTE)
    with pytest.raises(DomainError) as refused:
        await world.keys.begin(Keyed("mem_1", "k1", "fp-b"), "ord_other")
    assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"


async def test_a_retry_after_the_stock_was_released_answers_that_error_and_frees_the_key(
    world: World,
) -> None:
    order_id = await crashed_after_reserving(world)
    world.clock.advance(MINUTE)
    await world.catalog.release_stock(order_id)  # the sweep gave it back, and died before forgetting the key
    assert await world.keys.begin(Keyed("mem_1", "k1", "fp-a"), "ord_other") == Started(
        order_id, resumed=True
    )
    with pytest.raises(DomainError) as refused:
        await world.placing.place_order("mem_1", LINES, [pg(10_000)], Started(order_id, resumed=True))
    assert refused.value.code == "STOCK_RELEASED" and world.state.orders == {}
    await world.keys._abandon(Keyed("mem_1", "k1", "fp-a"))  # what a failed keyed request does
    assert await world.keys.begin(Keyed("mem_1", "k1", "fp-a"), "ord_next") == Started("ord_next")
    order = await world.placing.place_order("mem_1", LINES, [pg(10_000)], Started("ord_next", resumed=True))
    assert order.id == "ord_next" and world.catalog.stock["prd_a"] == 1


async def test_a_placement_whose_stock_cannot_be_given_back_leaves_its_key_to_the_sweep(
    http: httpx.AsyncClient, world: World
) -> None:
    world.catalog.answer_lost = world.catalog.release_unreachable = True  # the product service went away
    problem(await post_order(http, key="k1"), 503, "UPSTREAM_UNAVAILABLE")
    assert world.catalog.stock["prd_a"] == 2 and world.state.orders == {}  # held for no order
    assert ("mem_1", "k1") in world.state.keys  # not forgotten: the sweep needs it
    world.catalog.answer_lost = world.catalog.release_unreachable = False
    assert await world.service.release_abandoned_placements() == 1  # at once: it is left abandoned
    assert world.catalog.stock["prd_a"] == 3 and world.state.keys == {}
