"""Kafka's redelivery guarantees, as the services rely on them: an offset is committed only after the effect."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from market.infra.kafka import KafkaPublisher, KafkaSubscriber
from market.kernel.clock import ManualClock
from market.kernel.events import ORDER_EVENTS, Envelope
from tests.events import Consuming, event

NOW = ManualClock().now()

# A consumer process that handles (prints) the event and is killed before it can commit the offset.
CHILD = """
import asyncio, sys
from market.infra.kafka import KafkaSubscriber
from tests.events import Consuming

async def main(bootstrap, group, prefix):
    async def handle(env):
        if env.order_id.startswith(prefix):
            print(env.event_id, flush=True)
            await asyncio.Event().wait()
    sub = KafkaSubscriber(bootstrap, session_timeout_ms=6000)
    sub.subscribe("order.events", group, Consuming(handle))
    await sub.start()
    await asyncio.Event().wait()

asyncio.run(main(*sys.argv[1:]))
"""


async def until(predicate: Callable[[], bool], seconds: float = 30) -> None:
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not reached within {seconds}s")


async def publish(bootstrap: str, envs: list[Envelope]) -> None:
    publisher = KafkaPublisher(bootstrap)
    await publisher.start()
    try:
        await publisher.publish(envs)
    finally:
        await publisher.stop()


async def test_an_event_handled_but_not_committed_is_delivered_again_to_the_next_consumer(kafka: str) -> None:
    prefix = f"r{uuid.uuid4().hex[:10]}"
    group, first_seen, second_seen = f"{prefix}-payment", [], []
    e1, e2 = (event("OrderCreated", f"{prefix}-ord_1", NOW, n=n) for n in (1, 2))

    async def handle_then_hang(env: Envelope) -> None:
        if env.order_id.startswith(prefix):
            first_seen.append(env.event_id)
            if env == e2:
                await (
                    asyncio.Event().wait()
                )  # the effect is committed; the process dies before Kafka's commit

    crashing = KafkaSubscriber(kafka)
    crashing.subscribe(ORDER_EVENTS, group, Consuming(handle_then_hang))
    await crashing.start()
    await publish(kafka, [e1])
    await until(lambda: first_seen == [e1.event_id])
    await publish(kafka, [e2])  # same order, same partition: handled only once e1 has been
    await until(lambda: first_seen == [e1.event_id, e2.event_id])
    await crashing.stop()  # e2's handler is cancelled: its poll's offset is never committed

    async def record(env: Envelope) -> None:
        if env.order_id.startswith(prefix):
            second_seen.append(env.event_id)

    successor = KafkaSubscriber(kafka)
    successor.subscribe(ORDER_EVENTS, group, Consuming(record))
    await successor.start()
    try:
        await until(lambda: bool(second_seen))
        assert second_seen == [e2.event_id]  # e1 was committed, so it comes no more
    finally:
        await successor.stop()


async def test_a_killed_consumer_process_leaves_its_event_to_the_next_member(kafka: str) -> None:
    prefix = f"k{uuid.uuid4().hex[:10]}"
    group, seen = f"{prefix}-product", []
    env = event("OrderFailed", f"{prefix}-ord_1", NOW, reason="PG_DECLINED")
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, kafka, group, prefix, stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    try:
        await publish(kafka, [env])
        handled = await asyncio.wait_for(child.stdout.readline(), 30)
        assert handled.decode().strip() == env.event_id
    finally:
        child.kill()  # SIGKILL: no commit, no leaving the group
        await child.wait()
    killed_at = time.monotonic()

    async def record(e: Envelope) -> None:
        if e.order_id.startswith(prefix):
            seen.append(e.event_id)

    successor = KafkaSubscriber(kafka)
    successor.subscribe(ORDER_EVENTS, group, Consuming(record))
    await successor.start()
    try:
        # The broker hands the partition over once the dead member's session (6 s) has expired.
        await until(lambda: bool(seen), 40)
        assert seen == [env.event_id]
        assert time.monotonic() - killed_at >= 4
    finally:
        await successor.stop()


async def test_partitions_move_between_members_without_losing_or_reordering_events(kafka: str) -> None:
    prefix = f"m{uuid.uuid4().hex[:10]}"
    group, deliveries = f"{prefix}-order", []

    async def record(env: Envelope) -> None:
        if env.order_id.startswith(prefix):
            deliveries.append((env.order_id, env.payload["n"]))
            await asyncio.sleep(0.001)

    first, second = KafkaSubscriber(kafka, client_id="first"), KafkaSubscriber(kafka, client_id="second")
    first.subscribe(ORDER_EVENTS, group, Consuming(record))
    second.subscribe(ORDER_EVENTS, group, Consuming(record))
    publisher = KafkaPublisher(kafka)
    await publisher.start()
    await first.start()
    try:
        for n in range(30):
            await publisher.publish([event("OrderCreated", f"{prefix}-ord_{o}", NOW, n=n) for o in range(16)])
            if n == 10:
                await second.start()  # a member joins: every partition is revoked and reassigned
            if n == 20:
                await first.stop()  # a member leaves: the other takes all its partitions
            await asyncio.sleep(0.05)
        await until(lambda: len(set(deliveries)) == 30 * 16)
    finally:
        await first.stop()
        await second.stop()
        await publisher.stop()
    for o in range(16):
        ns = [n for order, n in deliveries if order == f"{prefix}-ord_{o}"]
        firsts = list(dict.fromkeys(ns))  # redeliveries are allowed (at least once), reordering is not
        assert firsts == list(range(30)), ns


async def test_an_undecodable_record_is_skipped_and_the_events_behind_it_still_arrive(kafka: str) -> None:
    from aiokafka import AIOKafkaProducer

    prefix = f"p{uuid.uuid4().hex[:10]}"
    raw = AIOKafkaProducer(bootstrap_servers=kafka)
    await raw.start()
    try:
        await raw.send_and_wait(ORDER_EVENTS, b"not an envelope", key=f"{prefix}-ord_1".encode())
    finally:
        await raw.stop()
    good = event("OrderCreated", f"{prefix}-ord_1", NOW)
    await publish(kafka, [good])
    seen: list[str] = []

    async def handle(env: Envelope) -> None:
        if env.order_id.startswith(prefix):
            seen.append(env.event_id)

    sub = KafkaSubscriber(kafka)
    sub.subscribe(ORDER_EVENTS, f"{prefix}-product", Consuming(handle))
    await sub.start()
    try:
        await until(lambda: seen == [good.event_id])
    finally:
        await sub.stop()


async def test_an_event_that_keeps_failing_lands_on_the_dead_letter_topic_with_its_error(
    kafka: str, tmp_path: Path
) -> None:
    from market.bootstrap import dlq
    from market.infra.consuming import Delivery
    from market.infra.kafka import KafkaDeadLetters
    from market.infra.migrations import OUTBOX_INBOX, OUTBOX_TRACE, migrate
    from market.infra.outbox import SqlOutboxStore
    from market.infra.sqlite import SqliteDatabase
    from market.settings import Settings

    prefix = f"d{uuid.uuid4().hex[:10]}"
    poisoned, fine = (
        event("OrderFailed", f"{prefix}-ord_{n}", NOW, member_id="m", reason="X") for n in (1, 2)
    )
    handled: list[str] = []

    async def handle(env: Envelope) -> None:
        if env.event_id == poisoned.event_id:
            raise RuntimeError("a bug in the handler")
        if env.order_id.startswith(prefix):
            handled.append(env.event_id)

    given_up: list[str] = []

    class Watched(KafkaDeadLetters):
        async def add(self, group: str, envelope: Envelope, error: str, attempts: int) -> None:
            await super().add(group, envelope, error, attempts)
            given_up.append(envelope.event_id)

    publisher = KafkaPublisher(kafka)
    await publisher.start()
    sub = KafkaSubscriber(kafka, delivery=Delivery(Watched(publisher), 2, 0.01))
    sub.subscribe(ORDER_EVENTS, f"{prefix}-product", Consuming(handle))
    await sub.start()
    try:
        await publisher.publish([poisoned, fine])
        await until(lambda: fine.event_id in handled)  # the one behind it is not held up
        await until(lambda: poisoned.event_id in given_up)  # its partition may be another's: it retries apart
    finally:
        await sub.stop()
        await publisher.stop()
    letters = await dlq.distributed(Settings(kafka_bootstrap=kafka), {}, replay=False)
    [ours] = [d for d in letters if d.envelope.event_id == poisoned.event_id]
    assert ours.group == f"{prefix}-product" and ours.attempts == 2 and "a bug in the handler" in ours.error

    # `market dlq replay`: into the producer's outbox (order's, for order.events), then no more listed
    order = SqliteDatabase(tmp_path / "order.db")
    await migrate(order, [OUTBOX_INBOX, OUTBOX_TRACE])
    replayed = await dlq.distributed(Settings(kafka_bootstrap=kafka), {"order": order}, replay=True)
    assert poisoned.event_id in {d.envelope.event_id for d in replayed}
    published: list[Envelope] = []

    async def relay(envelopes: list[Envelope]) -> None:
        published.extend(envelopes)

    await SqlOutboxStore(order).relay(1000, relay)  # type: ignore[arg-type]
    assert poisoned.event_id in {e.event_id for e in published}
    again = await dlq.distributed(Settings(kafka_bootstrap=kafka), {"order": order}, replay=False)
    assert poisoned.event_id not in {d.envelope.event_id for d in again}
    await order.close()
