"""The event transport behaves the same in-process (embedded) and on Kafka (distributed).

The Kafka half runs when MARKET_TEST_KAFKA_BOOTSTRAP points at a reachable broker. Its topics are shared
(order.events, payment.events) and new groups read them from the start, so every test uses its own groups
and its handlers see only the events it published itself. The order ids' prefix alone is not enough: in CI
the distributed services run on the same topics, and the payment service answers a test's OrderCreated
(whose payload is not an order's) with a PaymentFailed, VALIDATION_ERROR, for the same order id.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from market.infra.bus import InProcessBus
from market.infra.kafka import ConsumerSettings, KafkaPublisher, KafkaSubscriber
from market.infra.lanes import stepping_aside
from market.infra.migrations import OUTBOX_INBOX, migrate
from market.infra.outbox import OutboxRelay, SqlInbox, SqlOutbox, SqlOutboxStore
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import ManualClock
from market.kernel.events import ORDER_EVENTS, PAYMENT_EVENTS, Envelope, event
from market.kernel.messaging import Handler, Publisher, Subscriber
from tests.integration.conftest import kafka_bootstrap

NOW = ManualClock().now()
PARTITIONS = 4  # per topic on Kafka (tests/integration/conftest.py), and on the in-process bus here


class _Recording:
    """A publisher that notes the id of every event it publishes before handing them on."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher
        self.published: set[str] = set()

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        self.published.update(e.event_id for e in envelopes)
        await self._publisher.publish(envelopes)


@dataclass
class Transport:
    publisher: _Recording
    subscriber: Subscriber
    start: Callable[[], Awaitable[None]]
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")

    def subscribe(self, topic: str, group: str, handler: Handler) -> None:
        async def ours_only(env: Envelope) -> None:
            if env.event_id in self.publisher.published:
                await handler(env)

        self.subscriber.subscribe(topic, f"{self.prefix}-{group}", ours_only)

    def order(self, n: int) -> str:
        return f"{self.prefix}-ord_{n}"


@pytest.fixture(params=["in-process", "kafka"])
async def transport(request: pytest.FixtureRequest) -> AsyncIterator[Transport]:
    if request.param == "in-process":
        bus = InProcessBus(partitions=PARTITIONS, retry_backoff=0.01)
        yield Transport(_Recording(bus), bus, bus.start)
        await bus.stop()
        return
    bootstrap = await kafka_bootstrap()
    publisher = KafkaPublisher(bootstrap)
    await publisher.start()
    subscriber = KafkaSubscriber(bootstrap, settings=ConsumerSettings(retry_backoff=0.01, stop_grace=1))
    yield Transport(_Recording(publisher), subscriber, subscriber.start)
    await subscriber.stop()
    await publisher.stop()


async def until(predicate: Callable[[], bool], seconds: float = 30) -> None:
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not reached within {seconds}s")


async def test_every_published_event_reaches_its_group(transport: Transport) -> None:
    got: list[str] = []

    async def record(env: Envelope) -> None:
        got.append(env.event_id)

    transport.subscribe(ORDER_EVENTS, "audit", record)
    transport.subscribe(PAYMENT_EVENTS, "audit", record)
    await transport.start()
    kinds = ("OrderCreated", "PaymentCompleted", "OrderCancellationRequested", "PaymentRefunded")
    envs = [event(kinds[i % 4], transport.order(i % 25), NOW, n=i) for i in range(200)]
    await transport.publisher.publish(envs)
    await until(lambda: set(got) == {e.event_id for e in envs})


async def test_the_events_of_one_order_arrive_in_the_order_published(transport: Transport) -> None:
    got: dict[str, list[int]] = {}

    async def record(env: Envelope) -> None:
        got.setdefault(env.order_id, []).append(env.payload["n"])

    transport.subscribe(ORDER_EVENTS, "product", record)
    await transport.start()
    for batch in range(3):  # several publishes, each interleaving ten orders
        await transport.publisher.publish(
            [
                event("OrderCreated", transport.order(o), NOW, n=batch * 20 + i)
                for i in range(20)
                for o in range(10)
            ]
        )
    await until(lambda: sum(map(len, got.values())) >= 600)
    assert got == {transport.order(o): list(range(60)) for o in range(10)}


async def test_a_handler_that_fails_gets_the_event_again_and_nothing_after_it_is_skipped(
    transport: Transport,
) -> None:
    attempts: list[int] = []
    handled: list[int] = []

    async def flaky(env: Envelope) -> None:
        attempts.append(env.payload["n"])
        if env.payload["n"] == 3 and attempts.count(3) == 1:
            raise RuntimeError("deadlock found when trying to get lock")
        handled.append(env.payload["n"])

    transport.subscribe(PAYMENT_EVENTS, "order", flaky)
    await transport.start()
    publish = transport.publisher.publish(
        [event("PaymentCompleted", transport.order(1), NOW, n=i) for i in range(8)]
    )
    await asyncio.gather(publish, until(lambda: len(handled) == 8))
    assert attempts.count(3) == 2
    assert handled == list(range(8))


async def test_two_groups_each_get_every_event(transport: Transport) -> None:
    got: dict[str, list[str]] = {"product": [], "payment": []}
    for group, seen in got.items():

        async def record(env: Envelope, seen: list[str] = seen) -> None:
            seen.append(env.event_id)

        transport.subscribe(ORDER_EVENTS, group, record)
    await transport.start()
    envs = [event("OrderFailed", transport.order(i), NOW, reason="PG_DECLINED") for i in range(50)]
    await transport.publisher.publish(envs)
    ids = sorted(e.event_id for e in envs)
    await until(lambda: sorted(got["product"]) == ids and sorted(got["payment"]) == ids)


async def test_the_outbox_relay_delivers_through_the_transport_with_exactly_once_effect(
    transport: Transport, tmp_path: Path
) -> None:
    producer, consumer = SqliteDatabase(tmp_path / "order.db"), SqliteDatabase(tmp_path / "product.db")
    for db in (producer, consumer):
        await migrate(db, [OUTBOX_INBOX, "CREATE TABLE released (event_id VARCHAR(36) PRIMARY KEY)"])

    deliveries: list[str] = []

    async def release_stock(env: Envelope) -> None:
        deliveries.append(env.event_id)
        async with consumer.transaction() as tx:
            if await SqlInbox(tx).claim(env):
                await tx.execute("INSERT INTO released (event_id) VALUES (:e)", {"e": env.event_id})

    async def released() -> int:
        async with consumer.transaction() as tx:
            row = await tx.fetchone("SELECT COUNT(*) AS n FROM released")
        return int(row["n"]) if row else 0

    transport.subscribe(ORDER_EVENTS, "product", release_stock)
    await transport.start()
    wake = asyncio.Event()
    relay = OutboxRelay("order", SqlOutboxStore(producer), transport.publisher, wake, batch=16)
    running = asyncio.create_task(relay.run())
    envs = [event("OrderCancelled", transport.order(i % 7), NOW, n=i) for i in range(60)]
    for i in range(0, 60, 6):  # one transaction per state change, as the services write them
        async with producer.transaction() as tx:
            for env in envs[i : i + 6]:
                await SqlOutbox(tx, ManualClock(), wake).add(env)
    counts: list[int] = []
    async with asyncio.timeout(30):
        while not counts or counts[-1] < 60:
            counts.append(await released())
            await asyncio.sleep(0.02)
    await transport.publisher.publish(envs[:10])  # a relay that crashed before deleting its rows
    await until(lambda: len(deliveries) >= 70)
    await relay.stop()
    running.cancel()
    assert await released() == 60
    assert await SqlOutboxStore(producer).backlog() == 0
    await producer.close()
    await consumer.close()


async def test_an_order_waiting_on_its_handler_holds_up_only_its_own_later_events(
    transport: Transport,
) -> None:
    """A payment waiting on a slow PG: the orders behind it, in its partition too, go on meanwhile."""
    slow, gate, in_hand = transport.order(0), asyncio.Event(), asyncio.Event()
    got: list[tuple[str, int]] = []

    async def record(env: Envelope) -> None:
        if env.order_id == slow and env.payload["n"] == 0:
            in_hand.set()
            async with stepping_aside():  # as the payment does around its PG call
                await gate.wait()
        got.append((env.order_id, env.payload["n"]))

    transport.subscribe(ORDER_EVENTS, "payment", record)
    await transport.start()
    # In process, publish returns once handled: the publishes run as the relay runs them, as tasks.
    publishes = [asyncio.ensure_future(transport.publisher.publish([event("OrderCreated", slow, NOW, n=0)]))]
    await asyncio.wait_for(in_hand.wait(), 30)
    # 40 other orders: with 4 partitions, some certainly share the slow order's partition.
    others = [transport.order(i) for i in range(1, 41)]
    later = [event("OrderCreated", o, NOW, n=1) for o in others] + [event("OrderCancelled", slow, NOW, n=1)]
    publishes.append(asyncio.ensure_future(transport.publisher.publish(later)))
    await until(lambda: sorted(o for o, _ in got) == sorted(others))
    await asyncio.sleep(0.2)
    assert (slow, 1) not in got  # the slow order's next event waits for the one in hand
    gate.set()
    await until(lambda: len(got) == 42)
    await asyncio.gather(*publishes)
    assert [n for o, n in got if o == slow] == [0, 1]


async def test_a_partition_runs_one_handler_at_a_time_except_those_stepping_aside(
    transport: Transport,
) -> None:
    running: dict[str, int] = {}
    peak = {"in a slot": 0, "in flight": 0, "one order": 0}
    in_slot = 0
    handled: list[str] = []

    async def record(env: Envelope) -> None:
        nonlocal in_slot
        running[env.order_id] = running.get(env.order_id, 0) + 1
        in_slot += 1
        peak["one order"] = max(peak["one order"], running[env.order_id])
        peak["in flight"] = max(peak["in flight"], sum(running.values()))
        peak["in a slot"] = max(peak["in a slot"], in_slot)
        await asyncio.sleep(0.002)
        in_slot -= 1
        async with stepping_aside():
            await asyncio.sleep(0.02)
        in_slot += 1
        peak["in a slot"] = max(peak["in a slot"], in_slot)
        in_slot -= 1
        running[env.order_id] -= 1
        handled.append(env.event_id)

    transport.subscribe(ORDER_EVENTS, "product", record)
    await transport.start()
    envs = [event("OrderCreated", transport.order(i % 40), NOW, n=i) for i in range(200)]
    publish = asyncio.ensure_future(transport.publisher.publish(envs))
    await until(lambda: len(handled) == 200)
    await publish
    assert peak["one order"] == 1  # one order's events never run at once
    assert peak["in a slot"] <= PARTITIONS  # one handler per partition holds its slot
    assert peak["in flight"] > PARTITIONS  # the others go on while handlers wait outside


async def test_a_stop_with_an_event_in_hand_commits_up_to_that_event_and_no_further() -> None:
    """Kafka: the next consumer of the group gets the unfinished event again, and nothing handled before it."""
    bootstrap = await kafka_bootstrap()
    prefix = f"t{uuid.uuid4().hex[:10]}"
    group, slow = f"{prefix}-payment", f"{prefix}-ord_slow"
    publisher = KafkaPublisher(bootstrap)
    await publisher.start()
    first: list[tuple[str, int]] = []
    in_hand = asyncio.Event()

    async def never_finishes_the_slow_order(env: Envelope) -> None:
        if not env.order_id.startswith(prefix):
            return
        if env.order_id == slow:
            in_hand.set()
            async with stepping_aside():
                await asyncio.Event().wait()  # cancelled by stop() after its grace
        first.append((env.order_id, env.payload["n"]))

    settings = ConsumerSettings(retry_backoff=0.01, stop_grace=0.5)
    subscriber = KafkaSubscriber(bootstrap, settings=settings)
    subscriber.subscribe(ORDER_EVENTS, group, never_finishes_the_slow_order)
    await subscriber.start()
    before = [event("OrderCreated", f"{prefix}-ord_b{i}", NOW, n=0) for i in range(20)]
    await publisher.publish(before)
    await until(lambda: len(first) == 20)
    await publisher.publish([event("OrderCreated", slow, NOW, n=0)])
    await asyncio.wait_for(in_hand.wait(), 30)
    after = [event("OrderCreated", f"{prefix}-ord_a{i}", NOW, n=1) for i in range(20)]
    await publisher.publish([*after, event("OrderCancelled", slow, NOW, n=1)])
    await until(lambda: len(first) == 40)
    await subscriber.stop()

    second: list[tuple[str, int]] = []

    async def record(env: Envelope) -> None:
        if env.order_id.startswith(prefix):
            second.append((env.order_id, env.payload["n"]))

    subscriber = KafkaSubscriber(bootstrap, settings=settings)
    subscriber.subscribe(ORDER_EVENTS, group, record)
    await subscriber.start()
    try:
        await until(lambda: (slow, 1) in second)
        await asyncio.sleep(0.5)
    finally:
        await subscriber.stop()
        await publisher.stop()
    assert [n for o, n in second if o == slow] == [0, 1]  # the unfinished event first, then its successor
    assert not {o for o, _ in second} & {e.order_id for e in before}  # committed before it: not again
    # Handled after it in its partition: delivered again (the inboxes skip them); in other partitions: not.
    assert {o for o, _ in second} - {slow} <= {e.order_id for e in after}
