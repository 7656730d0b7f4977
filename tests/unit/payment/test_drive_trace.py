"""A payment is driven in the trace of the event that asked for it, even when a poll brought the events of
several orders (several traces) in one batch."""

from __future__ import annotations

import dataclasses

from market.infra import tracing
from market.infra.consuming import Delivery
from market.kernel.events import Envelope
from market.kernel.ids import new_id
from market.payment.adapters.memory import MemoryState, memory_uow
from market.payment.ports import CardCharge
from market.payment.use_cases import PaymentService
from tests.events import event
from tests.unit.payment.conftest import START, FakePoints, World, pg

TRACES = ["0af7651916cd43dd8448eb211c80319c", "4bf92f3577b34da6a3ce929d0e0e4736"]


class TracedCard:
    """The card gateway, noting the trace each confirm is called in."""

    def __init__(self, world: World) -> None:
        self.inner, self.seen = world.card, {}

    async def confirm(self, payment_key: str, order_id: str, amount: int) -> CardCharge:
        ids = tracing.trace_ids()
        self.seen[order_id] = ids[0] if ids else None
        return await self.inner.confirm(payment_key, order_id, amount)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def created() -> Envelope:
    return event(
        "OrderCreated",
        new_id("ord"),
        START,
        member_id="mem_1",
        total_amount=1_000,
        items=[{"product_id": "prd_1", "quantity": 1, "unit_price": 1_000}],
        payments=[{"payment_key": None, "coupon_id": None, **pg(1_000)}],
    )


async def test_each_payment_of_a_batch_is_driven_in_its_own_events_trace(world: World) -> None:
    tracing.setup("test")
    card = TracedCard(world)
    service = PaymentService(
        uow=memory_uow(MemoryState()), clock=world.clock, points=FakePoints(), cards=card,
        bnpl=world.bnpl, event_context=tracing.event_context,
    )  # fmt: skip
    batch = [dataclasses.replace(created(), trace=f"00-{trace}-00f067aa0ba902b7-01") for trace in TRACES]
    await Delivery().deliver("payment", service, batch)
    await service.idle()
    assert card.seen == {e.order_id: trace for e, trace in zip(batch, TRACES, strict=True)}
