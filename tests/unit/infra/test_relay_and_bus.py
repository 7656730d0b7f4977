"""The outbox → relay → bus → consumer path of the embedded mode: at least once, in order per order id."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from market.infra.bus import InProcessBus
from market.infra.migrations import migrate
from market.infra.outbox import OutboxRelay, SqlInbox, SqlOutbox, SqlOutboxStore
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import ManualClock
from market.kernel.events import ORDER_EVENTS, Envelope
from market.product.adapters.migrations import HISTORY as OUTBOX  # outbox, inbox, leases, dead letters
from tests.events import Consuming, event


async def make_db(tmp_path: Path, name: str) -> SqliteDatabase:
    db = SqliteDatabase(tmp_path / f"{name}.db")
    await migrate(db, OUTBOX)
    return db


async def write_events(db: SqliteDatabase, wake: asyncio.Event, envelopes: list[Envelope]) -> None:
    async with db.transaction() as tx:
        outbox = SqlOutbox(tx, ManualClock(), wake)
        for env in envelopes:
            await outbox.add(env)


async def wait_for(predicate, seconds: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_relay_delivers_every_event_in_order_per_order_then_empties_the_outbox(tmp_path: Path) -> None:
    db, wake, bus = await make_db(tmp_path, "order"), asyncio.Event(), InProcessBus(partitions=4)
    seen: list[tuple[str, str]] = []

    async def handler(env: Envelope) -> None:
        seen.append((env.order_id, env.type))

    bus.subscribe(ORDER_EVENTS, "payment", Consuming(handler))
    relay = OutboxRelay("order", SqlOutboxStore(db), bus, wake, batch=7)
    task = asyncio.create_task(relay.run())
    now = ManualClock().now()
    envs = [
        event(t, f"ord_{i}", now, member_id="m")
        for i in range(20)
        for t in ("OrderCreated", "OrderCancellationRequested")
    ]
    await write_events(db, wake, envs)
    await wait_for(lambda: len(seen) == 40)
    for i in range(20):
        assert [t for o, t in seen if o == f"ord_{i}"] == ["OrderCreated", "OrderCancellationRequested"]
    task.cancel()
    await bus.stop()
    assert await SqlOutboxStore(db).backlog() == 0


async def test_a_failing_consumer_gets_the_event_again_and_the_row_stays_until_it_succeeds(
    tmp_path: Path,
) -> None:
    db, wake, bus = (
        await make_db(tmp_path, "order"),
        asyncio.Event(),
        InProcessBus(partitions=2),
    )
    attempts: list[str] = []

    async def flaky(env: Envelope) -> None:
        attempts.append(env.event_id)
        if len(attempts) < 3:
            raise RuntimeError("database busy")

    bus.subscribe(ORDER_EVENTS, "product", Consuming(flaky))
    relay = OutboxRelay("order", SqlOutboxStore(db), bus, wake)
    task = asyncio.create_task(relay.run())
    env = event("OrderFailed", "ord_1", ManualClock().now(), member_id="m", reason="PG_DECLINED")
    await write_events(db, wake, [env])
    await wait_for(lambda: len(attempts) == 3)  # the batch, then the event alone, retried until it passes
    assert set(attempts) == {env.event_id}
    for _ in range(500):  # the row goes once the event is handled
        if await SqlOutboxStore(db).backlog() == 0:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    await bus.stop()
    assert await SqlOutboxStore(db).backlog() == 0


async def test_rows_not_yet_handled_survive_a_crash_and_are_published_after_restart(tmp_path: Path) -> None:
    db, wake = await make_db(tmp_path, "order"), asyncio.Event()
    env = event("OrderCreated", "ord_9", ManualClock().now(), member_id="m")
    await write_events(db, wake, [env])
    stuck_bus = InProcessBus(partitions=1)
    gate = asyncio.Event()

    async def never_finishes(e: Envelope) -> None:
        await gate.wait()

    stuck_bus.subscribe(ORDER_EVENTS, "payment", Consuming(never_finishes))
    relay = OutboxRelay("order", SqlOutboxStore(db), stuck_bus, wake)
    task = asyncio.create_task(relay.run())
    await asyncio.sleep(0.1)
    task.cancel()  # the crash: the consumer never finished
    await stuck_bus.stop()
    assert await SqlOutboxStore(db).backlog() == 1

    received: list[str] = []
    bus = InProcessBus(partitions=1)

    async def record(e: Envelope) -> None:
        received.append(e.event_id)

    bus.subscribe(ORDER_EVENTS, "payment", Consuming(record))
    relay = OutboxRelay("order", SqlOutboxStore(db), bus, asyncio.Event())
    task = asyncio.create_task(relay.run())
    await wait_for(lambda: received == [env.event_id])
    task.cancel()
    await bus.stop()


async def test_inbox_claims_an_event_once(tmp_path: Path) -> None:
    db = await make_db(tmp_path, "payment")
    env = event("OrderCreated", "ord_1", ManualClock().now(), member_id="m")
    async with db.transaction() as tx:
        assert await SqlInbox(tx).claim(env) is True
        assert await SqlInbox(tx).claim(env) is False
    assert Envelope.from_bytes(env.to_bytes()) == env


async def test_a_relay_turn_publishes_the_oldest_rows_then_deletes_exactly_those(tmp_path: Path) -> None:
    db, wake = await make_db(tmp_path, "order"), asyncio.Event()
    now = ManualClock().now()
    await write_events(db, wake, [event("OrderCreated", f"ord_{i}", now, member_id="m") for i in range(700)])
    store, published = SqlOutboxStore(db), []

    async def publish(envelopes: Sequence[Envelope]) -> None:
        published.extend(e.order_id for e in envelopes)

    assert await store.relay(500, publish) == 500
    assert published == [f"ord_{i}" for i in range(500)] and await store.backlog() == 200

    async def broker_down(envelopes: Sequence[Envelope]) -> None:
        raise ConnectionError("broker unreachable")

    with pytest.raises(ConnectionError):
        await store.relay(500, broker_down)
    assert await store.backlog() == 200  # left for the next turn
    assert await store.relay(500, publish) == 200 and await store.backlog() == 0
    assert published[500:] == [f"ord_{i}" for i in range(500, 700)]


async def test_a_relay_cancelled_as_a_write_wakes_it_ends(tmp_path: Path) -> None:
    # Cancelled in the same turn as the wake-up: asyncio.wait_for of Python 3.11 would return the
    # wake-up and drop the cancel, and the relay, never stopped, would poll on forever — the process
    # could not exit (seen when a run ended on an exception, without the platform's stop).
    db, wake, bus = await make_db(tmp_path, "order"), asyncio.Event(), InProcessBus(partitions=1)
    relay = OutboxRelay("order", SqlOutboxStore(db), bus, wake, idle_poll=5)
    task = asyncio.create_task(relay.run())
    await asyncio.sleep(0.05)  # waiting for a wake-up
    wake.set()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=1)
    assert task in done and task.cancelled()
