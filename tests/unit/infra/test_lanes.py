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
    await lanes.wait_idle()
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
    await lanes.wait_idle()
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
    await lanes.wait_idle()
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
    await lanes.wait_idle()
    assert sorted(ran) == list(range(6))
    assert running[1] == 2  # neither more (a slot released twice) nor fewer (a slot lost)


async def test_jobs_run_in_one_task_and_a_wait_aside_hands_the_slot_to_another() -> None:
    lanes, gate = KeyedLanes(limit=1), asyncio.Event()
    seen: list[tuple[str, asyncio.Task[object] | None]] = []

    async def quick(name: str) -> None:
        seen.append((name, asyncio.current_task()))

    async def waits(name: str) -> None:
        seen.append((name, asyncio.current_task()))
        async with stepping_aside():
            await gate.wait()
        seen.append((name + " end", asyncio.current_task()))

    for key in range(5):
        lanes.submit(key, lambda key=key: quick(f"q{key}"))
    lanes.submit("slow", lambda: waits("w"))
    lanes.submit("after", lambda: quick("a"))
    await asyncio.sleep(0.01)
    tasks = {name: task for name, task in seen}
    assert len({tasks[f"q{k}"] for k in range(5)} | {tasks["w"]}) == 1  # no task per job
    assert tasks["a"] is not tasks["w"]  # the slot's work went on in another task while w waited
    gate.set()
    await lanes.wait_idle()
    assert dict(seen)["w end"] is tasks["w"]  # the job itself kept its task
    assert not lanes.busy()


async def test_a_job_that_cancels_itself_does_not_stop_its_lanes() -> None:
    lanes, ran = KeyedLanes(limit=1), []

    async def cancels_itself() -> None:
        raise asyncio.CancelledError  # e.g. an inner wait that was cancelled and not caught

    async def mark() -> None:
        ran.append("next")

    lanes.submit("a", cancels_itself)
    lanes.submit("a", mark)
    lanes.submit("b", mark)
    await asyncio.wait_for(lanes.wait_idle(), 1)
    assert ran == ["next", "next"]
