"""The Idempotency-Key contract of the REST API (Stripe's, SPEC §5), one path for every keyed request.

`run` begins a key (or replays its stored answer, or refuses it: IDEMPOTENCY_KEY_REUSED / _IN_USE), runs
the request, and finishes the key with the answer — the order as the API shows it — in the transaction
that commits the request's change when it can (`Finish`), else in one of its own after a `Prefer: wait`.
The REST adapter only renders the `Reply`.

Decisions where the SPEC is silent:
- Only a 2xx answer is stored for replay. A request that fails (a broken rule, a conflict, an unreachable
  service) leaves no trace, so the client may retry with the same key. Replays are kept 24 h.
- An in-flight key untouched for 60 s belongs to a request that crashed (every call a request makes has a
  deadline of seconds) and may be taken over by the same request; another one is IDEMPOTENCY_KEY_REUSED.
  A placement's key keeps the order id it was claimed with, so the request that takes it over places that
  same order (see `placing`).
- A placement that crashed after reserving its stock but before storing its order leaves its key in
  flight, its order missing: `release_abandoned_placements` gives that stock back and forgets the key.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson

from market.kernel import codec
from market.kernel.clock import Clock
from market.kernel.errors import Unavailable
from market.order.domain import (
    ABANDONED_AFTER,
    IN_FLIGHT,
    KEY_RETENTION,
    KeyUse,
    Order,
    Replay,
    Started,
    order_view,
    replay_of,
)
from market.order.ports import Catalog, UnitOfWork, UnitOfWorkFactory, Writes

log = logging.getLogger("market.order.keys")

SWEEP_BATCH = 100


@dataclass(frozen=True)
class Keyed:
    """A request under an Idempotency-Key: the member's key and what makes two requests the same."""

    member_id: str
    key: str
    fingerprint: str

    @classmethod
    def of(cls, member_id: str, key: str, *request: Any) -> Keyed:
        """The key of `request` (a kind and its command): sha256 of its canonical JSON."""
        canonical = orjson.dumps(codec.plain(list(request)), option=orjson.OPT_SORT_KEYS)
        return cls(member_id, key, hashlib.sha256(canonical).hexdigest())


@dataclass(frozen=True)
class Reply:
    """A keyed request's answer: its status and the order as the API shows it (JSON), as first sent."""

    status: int
    body: bytes
    order_id: str
    waited: int = 0  # the `Prefer: wait` it honoured, in seconds (0 for a replay)


class StockMayBeHeld(Unavailable):
    """A placement failed once its stock may have been reserved, and giving the stock back failed too: its
    key is not forgotten but left to the sweep of abandoned placements, which knows what to give back."""

    def __init__(self, order_id: str) -> None:
        super().__init__("product")
        self.order_id = order_id


# Stores the answer with `order` inside the caller's unit of work, the one that commits the request's change.
Finish = Callable[[UnitOfWork, Order], Awaitable[None]]
# Runs the request once the key is held; calls `finish` (if given) in the transaction that commits it.
Act = Callable[[Started, Finish | None], Awaitable[Order]]
# Waits for the order to settle (`Prefer: wait`): the order then, and the seconds it honoured.
Settle = Callable[[Order], Awaitable[tuple[Order, int]]]


class Idempotency:
    def __init__(self, *, uow: UnitOfWorkFactory, writes: Writes, clock: Clock, catalog: Catalog) -> None:
        self._uow = uow
        self._writes = writes
        self._clock = clock
        self._catalog = catalog

    async def run(
        self,
        keyed: Keyed,
        status: int,
        act: Act,
        resource_id: str | None = None,
        settle: Settle | None = None,
    ) -> Reply:
        """Run `act` once per key and answer it, or answer what the key answered before."""
        begun = await self.begin(keyed, resource_id)
        if isinstance(begun, Replay):
            body = begun.body.encode()
            return Reply(begun.status, body, str(orjson.loads(body)["id"]))
        finished: list[Reply] = []

        async def finish(uow: UnitOfWork, order: Order) -> None:
            finished.append(await self._finish(uow, keyed, status, order))

        try:
            order = await act(begun, None if settle else finish)
        except StockMayBeHeld:
            await self._leave_to_sweep(keyed)
            raise
        except BaseException:
            await self._abandon(keyed)
            raise
        if finished and finished[-1].order_id == order.id:
            return finished[-1]  # committed with the order
        waited = 0
        try:
            if settle is not None:
                order, waited = await settle(order)
        finally:
            # Even if the wait is cut short, the order exists: the key must replay it, never make another.
            async with self._uow() as uow:
                reply = await self._finish(uow, keyed, status, order)
        return replace(reply, waited=waited)

    async def begin(self, keyed: Keyed, resource_id: str | None = None) -> Started | Replay:
        """Claim the key (Started), or the stored answer (Replay); IDEMPOTENCY_KEY_REUSED / _IN_USE."""
        now = self._clock.now()
        member_id, key, fingerprint = keyed.member_id, keyed.key, keyed.fingerprint

        async def claim(uow: UnitOfWork) -> Started | Replay:
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

        return await self._writes(claim)

    async def _finish(self, uow: UnitOfWork, keyed: Keyed, status: int, order: Order) -> Reply:
        reply = Reply(status, orjson.dumps(order_view(order)), order.id)
        now = self._clock.now()
        await uow.idempotency_keys.finish(keyed.member_id, keyed.key, status, reply.body.decode(), now)
        return reply

    async def _abandon(self, keyed: Keyed) -> None:
        """The request failed: it leaves no trace, the key may be used again."""

        async def forget(uow: UnitOfWork) -> None:
            await uow.idempotency_keys.forget(keyed.member_id, keyed.key)

        try:
            await self._writes(forget)
        except Exception:
            log.exception("could not forget Idempotency-Key %r; it frees itself in a minute", keyed.key)

    async def _leave_to_sweep(self, keyed: Keyed) -> None:
        """The request failed with its stock perhaps held: its key stays, abandoned at once, so the sweep
        gives the stock back (or a retry of the same request resumes the placement) — never forgotten."""
        try:
            async with self._uow() as uow:
                await uow.idempotency_keys.abandon(
                    keyed.member_id, keyed.key, self._clock.now() - ABANDONED_AFTER
                )
        except Exception:
            log.exception(
                "could not leave Idempotency-Key %r to the sweep; it is in flight until then", keyed.key
            )

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
