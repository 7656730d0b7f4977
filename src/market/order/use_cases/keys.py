"""The Idempotency-Key contract of the REST API (Stripe's, SPEC §5), and the sweep of crashed placements.

Decisions where the SPEC is silent:
- Only a 2xx response is stored for replay. A request that fails (a broken rule, a conflict, an
  unreachable service) leaves no trace, so the client may retry with the same key — whether it fixed
  nothing (a transient failure) or the conflict cleared. Replays are kept 24 h (`forget_expired_keys`).
- An in-flight key untouched for 60 s belongs to a request that crashed (every call a request makes has a
  deadline of seconds) and may be taken over. A placement's key keeps the order id it was claimed with, so
  the request that takes it over places that same order (see `placing`); only the same request may take
  it over: another one is IDEMPOTENCY_KEY_REUSED, as it would be had the first one finished.
- A placement that crashed after reserving its stock but before storing its order leaves its key in
  flight, its order missing: `release_abandoned_placements` gives that stock back and forgets the key.
  A placement answered with the order as placed stores its response in the transaction that stores the
  order (`ReplayToStore`): both or neither. One that waits for the outcome (`Prefer: wait`) stores its
  response after the wait, so it may crash with its order stored and its key in flight: that one is left
  alone, a retry with the key answers that order; without a retry the row stays (it holds nothing else).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from market.kernel.clock import Clock
from market.order.domain import (
    ABANDONED_AFTER,
    IN_FLIGHT,
    KEY_RETENTION,
    KeyUse,
    Order,
    Replay,
    Started,
    replay_of,
)
from market.order.ports import Catalog, UnitOfWorkFactory

log = logging.getLogger("market.order.keys")

SWEEP_BATCH = 100


@dataclass(frozen=True)
class ReplayToStore:
    """A Started key's response to a placement, when it is the order as placed: stored with the order.

    `render` gives the body from the order, the very bytes the client is sent; it is called once, only
    for an order this placement stores (not for an earlier attempt's), before its transaction."""

    member_id: str
    key: str
    status: int
    render: Callable[[Order], str]


class IdempotencyKeys:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, catalog: Catalog) -> None:
        self._uow = uow
        self._clock = clock
        self._catalog = catalog

    async def begin(
        self, member_id: str, key: str, fingerprint: str, resource_id: str | None = None
    ) -> Started | Replay:
        now = self._clock.now()
        async with self._uow() as uow:
            keys = uow.idempotency_keys
            use = KeyUse(member_id, key, fingerprint, IN_FLIGHT, now, now, resource_id=resource_id)
            if await keys.start(use):
                return Started(resource_id)
            seen = await keys.get(member_id, key)
            if seen is not None and seen.resumable_by(fingerprint, now):
                if await keys.take_over(seen, fingerprint, now, resource_id):
                    return Started(seen.resource_id or resource_id, resumed=True)
                seen = None  # another request took it over first
            return replay_of(seen, fingerprint)

    async def complete(self, member_id: str, key: str, status: int, body: str) -> None:
        if not 200 <= status < 300:
            await self.abandon(member_id, key)
            return
        async with self._uow() as uow:
            await uow.idempotency_keys.finish(member_id, key, status, body, self._clock.now())

    async def abandon(self, member_id: str, key: str) -> None:
        async with self._uow() as uow:
            await uow.idempotency_keys.forget(member_id, key)

    async def forget_expired_keys(self) -> int:
        async with self._uow() as uow:
            return await uow.idempotency_keys.forget_done_before(self._clock.now() - KEY_RETENTION)

    async def release_abandoned_placements(self) -> int:
        now = self._clock.now()
        async with self._uow() as uow:
            keys = uow.idempotency_keys
            found = await keys.abandoned_placements(now - ABANDONED_AFTER, SWEEP_BATCH)
            # Claimed like a take-over: a retry meanwhile is IDEMPOTENCY_KEY_IN_USE, so it cannot reserve
            # the stock again (and store its order) between our release and our forgetting the key.
            claimed = [
                replace(u, updated_at=now) for u in found if await keys.take_over(u, u.fingerprint, now)
            ]
        released = 0
        for use in claimed:
            assert use.resource_id is not None
            try:
                await self._catalog.release_stock(use.resource_id)  # never inside a transaction
            except Exception:
                log.exception("could not give back the stock of crashed placement %s", use.resource_id)
                continue  # the claim lapses in a minute and a later sweep tries again
            released += 1
            async with self._uow() as uow:
                await uow.idempotency_keys.forget_unchanged(use)
        return released
