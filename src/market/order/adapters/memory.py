"""In-memory order repositories, outbox and inbox: the fakes the unit tests run on, with the SQL behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime

from market.infra.memory import MemoryInbox, MemoryOutbox, snapshot_uow
from market.kernel.events import Envelope
from market.order.domain import DONE, IN_FLIGHT, KeyUse, Order, OrderStatus

Snapshot = tuple[dict[str, Order], dict[tuple[str, str], KeyUse], list[Envelope], set[str]]


@dataclass
class OrderState:
    """Everything the order database holds; a unit of work restores a copy when its block raises."""

    orders: dict[str, Order] = field(default_factory=dict)
    keys: dict[tuple[str, str], KeyUse] = field(default_factory=dict)
    outbox: list[Envelope] = field(default_factory=list)
    inbox: set[str] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def snapshot(self) -> Snapshot:
        # Orders, key uses and envelopes are immutable: copying the containers is enough.
        return dict(self.orders), dict(self.keys), list(self.outbox), set(self.inbox)

    def restore(self, snap: Snapshot) -> None:
        self.orders, self.keys, self.outbox, self.inbox = snap


class MemoryOrders:
    def __init__(self, state: OrderState) -> None:
        self._s = state

    async def add(self, order: Order) -> None:
        if order.id in self._s.orders:
            raise ValueError(f"order {order.id} exists")  # like the primary key
        self._s.orders[order.id] = order

    async def get(self, order_id: str, for_update: bool = False) -> Order | None:
        return self._s.orders.get(order_id)

    async def save(self, order: Order, was: OrderStatus) -> bool:
        current = self._s.orders.get(order.id)
        if current is None or current.status != was:
            return False
        self._s.orders[order.id] = order
        return True

    async def stuck(self, before: datetime, limit: int) -> list[Order]:
        found = [
            o
            for o in self._s.orders.values()
            if (o.status in (OrderStatus.PENDING, OrderStatus.CANCELLING) or o.pending_cancellation)
            and o.updated_at < before
        ]
        return sorted(found, key=lambda o: o.updated_at)[:limit]

    async def save_timeline(self, order: Order) -> None:
        self._s.orders[order.id] = replace(self._s.orders[order.id], timeline=order.timeline)

    async def versions(self, order_ids: Sequence[str]) -> dict[str, str]:
        return {i: self._s.orders[i].version for i in order_ids if i in self._s.orders}

    async def newest(
        self, member_id: str, limit: int, cursor: str | None, status: OrderStatus | None = None
    ) -> list[Order]:
        mine = [
            o
            for o in self._s.orders.values()
            if o.member_id == member_id
            and (cursor is None or o.id < cursor)
            and (status is None or o.status == status)
        ]
        return sorted(mine, key=lambda o: o.id, reverse=True)[:limit]


class MemoryIdempotencyKeys:
    def __init__(self, state: OrderState) -> None:
        self._s = state

    async def start(self, use: KeyUse) -> bool:
        if (use.member_id, use.key) in self._s.keys:
            return False
        self._s.keys[(use.member_id, use.key)] = use
        return True

    async def get(self, member_id: str, key: str) -> KeyUse | None:
        return self._s.keys.get((member_id, key))

    async def take_over(
        self, abandoned: KeyUse, fingerprint: str, at: datetime, resource_id: str | None = None
    ) -> bool:
        current = self._s.keys.get((abandoned.member_id, abandoned.key))
        if current is None or current.state != IN_FLIGHT or current.updated_at != abandoned.updated_at:
            return False
        self._s.keys[(abandoned.member_id, abandoned.key)] = replace(
            current, fingerprint=fingerprint, updated_at=at, resource_id=current.resource_id or resource_id
        )
        return True

    async def finish(self, member_id: str, key: str, status_code: int, body: str, at: datetime) -> None:
        current = self._s.keys.get((member_id, key))
        if current is not None and current.state == IN_FLIGHT:
            done = replace(current, state=DONE, status_code=status_code, response_body=body, updated_at=at)
            self._s.keys[(member_id, key)] = done

    async def forget(self, member_id: str, key: str) -> None:
        self._s.keys.pop((member_id, key), None)

    async def abandon(self, member_id: str, key: str, as_of: datetime) -> None:
        use = self._s.keys.get((member_id, key))
        if use is not None and use.state == IN_FLIGHT:
            self._s.keys[(member_id, key)] = replace(use, updated_at=as_of)

    async def forget_unchanged(self, use: KeyUse) -> bool:
        current = self._s.keys.get((use.member_id, use.key))
        if current is None or current.updated_at != use.updated_at:
            return False
        del self._s.keys[(use.member_id, use.key)]
        return True

    async def abandoned_placements(self, before: datetime, limit: int) -> list[KeyUse]:
        found = [
            use
            for use in self._s.keys.values()
            if use.state == IN_FLIGHT
            and use.resource_id is not None
            and use.updated_at <= before
            and use.resource_id not in self._s.orders
        ]
        return sorted(found, key=lambda use: use.updated_at)[:limit]

    async def forget_done_before(self, before: datetime) -> int:
        old = [k for k, use in self._s.keys.items() if use.state == DONE and use.updated_at < before]
        for k in old:
            del self._s.keys[k]
        return len(old)


class MemoryUnitOfWork:
    def __init__(self, state: OrderState) -> None:
        self.orders = MemoryOrders(state)
        self.idempotency_keys = MemoryIdempotencyKeys(state)
        self.outbox = MemoryOutbox(state.outbox)
        self.inbox = MemoryInbox(state.inbox)


def memory_uow(
    state: OrderState | None = None,
) -> Callable[[], AbstractAsyncContextManager[MemoryUnitOfWork]]:
    """A unit-of-work factory over `state` (a fresh one if not given); blocks never interleave."""
    return snapshot_uow(state if state is not None else OrderState(), MemoryUnitOfWork)
