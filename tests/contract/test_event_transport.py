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
from market.infra.kafka import KafkaPublisher, KafkaSubscriber
from market.infra.migrations import migrate
from market.infra.outbox import OutboxRelay, SqlInbox, SqlOutbox, SqlOutboxStore
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import ManualClock
from market.kernel.events import ORDER_EVENTS, PAYMENT_EVENTS, Envelope
from market.kernel.messaging import Publisher, Subscriber
from market.product.adapters.migrations import HISTORY as OUTBOX  # outbox, inbox, leases, dead letters
from tests.events import Consuming, event
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

    def subscribe(self, topic: str, group: str, handler: Callable[[Envelope], Awaitable[None]]) -> Consuming:
        async def ours_only(env: Envelope) -> None:
            if env.event_id in self.publisher.published:
                await handler(env)

        consumer = Consuming(ours_only)
        self.subscriber.subscribe(topic, f"{self.prefix}-{group}", consumer)
        return consumer

    def order(self, n: int) -> str:
        return f"{self.prefix}-ord_{n}"


@pytest.fixture(params=["in-process", "kafka"])
async def transport(request: pytest.FixtureRequest) -> AsyncIterator[Transport]:
    if request.param == "in-process":
        bus = InProcessBus(partitions=PARTITIONS)

        async def nothing_to_start() -> None:
            return None

        yield Transport(_Recording(bus), bus, nothing_to_start)
        await bus.stop()
        return
    bootstrap = await kafka_bootstrap()
    publisher = KafkaPublisher(bootstrap)
    await publisher.start()
    subscriber = KafkaSubscriber(bootstrap)
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
    """The batch fails as a whole (its transaction rolls back); its events are then handled one by one,
    the failing one retried until it passes, so each is handled and none is skipped."""
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
    await asyncio.gather(publish, until(lambda: set(handled) == set(range(8))))
    assert attempts.count(3) == 2
    assert handled[-5:] == list(range(3, 8))  # in order from the failed one on


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
        await migrate(db, OUTBOX)
    async with consumer.transaction() as tx:
        await tx.execute("CREATE TABLE released (event_id VARCHAR(36) PRIMARY KEY)")

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
    running.cancel()
    assert await released() == 60
    assert await SqlOutboxStore(producer).backlog() == 0
    await producer.close()
    await consumer.close()


async def test_events_that_arrive_together_are_handed_over_together(transport: Transport) -> None:
    """A poll's (or a queue's) events go to the consumer as one batch, in order per order."""
    got: list[tuple[str, int]] = []

    async def record(env: Envelope) -> None:
        got.append((env.order_id, env.payload["n"]))

    consumer = transport.subscribe(ORDER_EVENTS, "product", record)
    await transport.start()
    envs = [event("OrderCreated", transport.order(i % 40), NOW, n=i) for i in range(400)]
    await asyncio.gather(*(transport.publisher.publish(envs[i : i + 50]) for i in range(0, 400, 50)))
    await until(lambda: len(got) == 400)
    assert max(consumer.batches) > 1 and sum(consumer.batches) >= 400
    for o in range(40):
        assert [n for order, n in got if order == transport.order(o)] == list(range(o, 400, 40))


async def test_a_stop_with_a_poll_in_hand_commits_none_of_it() -> None:
    """Kafka: the next consumer of the group gets the unfinished poll again, and nothing committed before."""
    bootstrap = await kafka_bootstrap()
    prefix = f"t{uuid.uuid4().hex[:10]}"
    group, slow = f"{prefix}-payment", f"{prefix}-ord_slow"
    publisher = KafkaPublisher(bootstrap)
    await publisher.start()
    first: list[str] = []
    in_hand = asyncio.Event()

    async def never_finishes_the_slow_order(env: Envelope) -> None:
        if not env.order_id.startswith(prefix):
            return
        if env.order_id == slow:
            in_hand.set()
            await asyncio.Event().wait()  # cancelled by stop(): its transaction would roll back
        first.append(env.order_id)

    subscriber = KafkaSubscriber(bootstrap)
    subscriber.subscribe(ORDER_EVENTS, group, Consuming(never_finishes_the_slow_order))
    await subscriber.start()
    before = [event("OrderCreated", f"{prefix}-ord_b{i}", NOW, n=0) for i in range(20)]
    await publisher.publish(before)
    await until(lambda: len(first) == 20)
    await asyncio.sleep(0.3)  # their poll's offsets committed
    await publisher.publish([event("OrderCreated", slow, NOW, n=0)])
    await asyncio.wait_for(in_hand.wait(), 30)
    await subscriber.stop()
    after = [event("OrderCreated", f"{prefix}-ord_a{i}", NOW, n=1) for i in range(20)]
    await publisher.publish([*after, event("OrderCancelled", slow, NOW, n=1)])

    second: list[tuple[str, int]] = []

    async def record(env: Envelope) -> None:
        if env.order_id.startswith(prefix):
            second.append((env.order_id, env.payload["n"]))

    subscriber = KafkaSubscriber(bootstrap)
    subscriber.subscribe(ORDER_EVENTS, group, Consuming(record))
    await subscriber.start()
    try:
        await until(lambda: (slow, 1) in second and len(second) >= 22)
        await asyncio.sleep(0.5)
    finally:
        await subscriber.stop()
        await publisher.stop()
    assert [n for o, n in second if o == slow] == [0, 1]  # the unfinished event first, then its successor
    assert not {o for o, _ in second} & {e.order_id for e in before}  # committed before it: not again
    assert {e.order_id for e in after} <= {o for o, _ in second}
