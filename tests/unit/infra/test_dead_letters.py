"""An event whose handler keeps failing: retried a bounded number of times, then kept in the dead letters
with its error, while the events around it go on; `market dlq replay` puts it back in its producer's outbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

from market.bootstrap import dlq
from market.infra.bus import InProcessBus
from market.infra.consuming import Delivery
from market.infra.dead_letters import SqlDeadLetters, unreplayed
from market.infra.migrations import migrate
from market.infra.outbox import SqlOutboxStore
from market.infra.sqlite import SqliteDatabase
from market.kernel.clock import ManualClock
from market.kernel.events import ORDER_EVENTS, Envelope
from market.product.adapters.migrations import HISTORY as OUTBOX  # outbox, inbox, leases, dead letters
from tests.events import Consuming, event

NOW = ManualClock().now()


async def test_a_poisoned_event_goes_to_the_dead_letters_and_the_others_are_handled(tmp_path: Path) -> None:
    product = SqliteDatabase(tmp_path / "product.db")
    await migrate(product, OUTBOX)
    bus = InProcessBus(
        partitions=1, delivery=Delivery(SqlDeadLetters(lambda _: product, ManualClock()), 3, 0.01)
    )
    poisoned = event("OrderFailed", "ord_2", NOW, member_id="m", reason="X")
    handled, attempts = [], []

    async def release(env: Envelope) -> None:
        if env.event_id == poisoned.event_id:
            attempts.append(env.event_id)
            raise RuntimeError("a bug in the handler")
        handled.append(env.order_id)

    bus.subscribe(ORDER_EVENTS, "product", Consuming(release))
    others = [event("OrderFailed", f"ord_{i}", NOW, member_id="m", reason="X") for i in (1, 3)]
    await asyncio.wait_for(bus.publish([others[0], poisoned, others[1]]), 5)  # it does not hang
    assert handled.count("ord_1") >= 1 and handled[-1] == "ord_3"
    assert len(attempts) == 1 + 3  # in its batch, then three attempts alone
    [letter] = await unreplayed(product)
    assert (letter["grp"], letter["event_id"], letter["attempts"]) == ("product", poisoned.event_id, 3)
    assert "a bug in the handler" in letter["error"]
    await product.close()


async def test_replay_puts_the_event_back_in_its_producers_outbox_once(tmp_path: Path) -> None:
    dbs = {name: SqliteDatabase(tmp_path / f"{name}.db") for name in ("order", "product")}
    for db in dbs.values():
        await migrate(db, OUTBOX)
    poisoned = event("OrderFailed", "ord_2", NOW, member_id="m", reason="X")
    await SqlDeadLetters(dbs.__getitem__, ManualClock()).add("product", poisoned, "RuntimeError: bug", 8)

    listed = await dlq.embedded(dbs, replay=False)
    assert [(d.group, d.envelope.event_id) for d in listed] == [("product", poisoned.event_id)]
    assert await SqlOutboxStore(dbs["order"]).backlog() == 0  # listing replays nothing

    replayed = await dlq.embedded(dbs, replay=True)
    assert len(replayed) == 1 and await dlq.embedded(dbs, replay=True) == []  # once
    published: list[Envelope] = []

    async def publish(envelopes: list[Envelope]) -> None:
        published.extend(envelopes)

    assert await SqlOutboxStore(dbs["order"]).relay(10, publish) == 1  # type: ignore[arg-type]
    assert published == [poisoned]  # the same event, same id: the groups that handled it skip it
    for db in dbs.values():
        await db.close()
