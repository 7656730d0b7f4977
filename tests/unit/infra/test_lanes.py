"""Keyed lanes and stepping aside: the slot accounting the event transports rely on."""

from __future__ import annotations

import asyncio

import pytest

from market.infra.lanes import KeyedLanes, stepping_aside


async def test_a_key_runs_in_order_and_a_stepping_aside_job_lets_another_key_run() -> None:
    lanes, log, gate = KeyedLanes(limit=1), [], asyncio.Event()

    async def slow(name: str) -> None:
        log.append(f"{name} start")
        async with stepping_aside():
            await gate.wait()
        log.append(f"{name} end")

    async def quick(name: str) -> None:
        log.append(name)

    lanes.submit("a", lambda: slow("a1"))
    lanes.submit("a", lambda: quick("a2"))
    lanes.submit("b", lambda: quick("b1"))
    await asyncio.sleep(0.01)
    assert log == ["a1 start", "b1"]  # b went past a's wait; a2 waits for a1
    gate.set()
    await asyncio.gather(*lanes.tasks())
    assert log == ["a1 start", "b1", "a1 end", "a2"]


async def test_without_stepping_aside_the_slot_is_held() -> None:
    lanes, log, gate = KeyedLanes(limit=1), [], asyncio.Event()

    async def holds() -> None:
        await gate.wait()
        log.append("a")

    async def quick() -> None:
        log.append("b")

    lanes.submit("a", holds)
    lanes.submit("b", quick)
    await asyncio.sleep(0.01)
    assert log == []
    gate.set()
    await asyncio.gather(*lanes.tasks())
    assert log == ["a", "b"]


async def test_a_failure_while_aside_takes_the_slot_back_before_the_job_goes_on() -> None:
    lanes, in_slot, peak = KeyedLanes(limit=1), [0], [0]

    async def job() -> None:
        in_slot[0] += 1
        peak[0] = max(peak[0], in_slot[0])
        in_slot[0] -= 1
        with pytest.raises(TimeoutError):
            async with stepping_aside():
                await asyncio.sleep(0.005)
                raise TimeoutError  # e.g. the PG did not answer: the job asks it again, in its slot
        in_slot[0] += 1
        peak[0] = max(peak[0], in_slot[0])
        await asyncio.sleep(0.005)
        in_slot[0] -= 1

    for key in range(10):
        lanes.submit(key, job)
    await asyncio.gather(*lanes.tasks())
    assert peak[0] == 1


async def test_cancelling_lanes_waiting_aside_leaves_the_slots_whole() -> None:
    lanes = KeyedLanes(limit=2)

    async def waits_aside() -> None:
        async with stepping_aside():
            await asyncio.Event().wait()

    for key in range(5):
        lanes.submit(key, waits_aside)
    await asyncio.sleep(0.01)
    await lanes.cancel()
    ran: list[int] = []

    async def mark(n: int) -> None:
        ran.append(n)
        await asyncio.sleep(0.01)

    running = [0, 0]

    async def counted(n: int) -> None:
        running[0] += 1
        running[1] = max(running)
        await mark(n)
        running[0] -= 1

    for key in range(6):
        lanes.submit(key, lambda key=key: counted(key))
    await asyncio.gather(*lanes.tasks())
    assert sorted(ran) == list(range(6))
    assert running[1] == 2  # neither more (a slot released twice) nor fewer (a slot lost)
