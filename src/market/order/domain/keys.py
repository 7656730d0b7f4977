"""An Idempotency-Key's use by a member (Stripe's contract, SPEC §5).

A placement's key also remembers the id of the order it places (`resource_id`, chosen when the key is first
claimed): whoever resumes the key after a crash (a retry, the sweep of abandoned placements) knows which
order's stock may be held and whether that order was stored. A cancellation's key has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from market.kernel.errors import DomainError

IN_FLIGHT = "IN_FLIGHT"
DONE = "DONE"
ABANDONED_AFTER = timedelta(seconds=60)
KEY_RETENTION = timedelta(hours=24)


@dataclass(frozen=True)
class KeyUse:
    """A member's use of an Idempotency-Key: the request's fingerprint, the order a placement places,
    and the response once done."""

    member_id: str
    key: str
    fingerprint: str
    state: str
    created_at: datetime
    updated_at: datetime
    status_code: int | None = None
    response_body: str | None = None
    resource_id: str | None = None

    def abandoned(self, now: datetime) -> bool:
        """An in-flight request this old has crashed (no request runs for a minute): it may be taken over."""
        return self.state == IN_FLIGHT and now - self.updated_at >= ABANDONED_AFTER

    def resumable_by(self, fingerprint: str, now: datetime) -> bool:
        """Abandoned, and if it places an order, by the same request: another one would inherit an order id
        whose stock (or stored order) is the first request's."""
        return self.abandoned(now) and (self.resource_id is None or self.fingerprint == fingerprint)


@dataclass(frozen=True)
class Started:
    """This request holds the key: run it, then `complete` or `abandon` it (a placement may instead store
    its response with its order). A placement places the order `resource_id`, which an earlier, crashed
    attempt with this key may already have stored if `resumed` (the key was taken over); a key claimed
    for the first time names an order that cannot exist yet."""

    resource_id: str | None = None
    resumed: bool = False


@dataclass(frozen=True)
class Replay:
    """The key already answered this very request: send this response again."""

    status: int
    body: str


def replay_of(seen: KeyUse | None, fingerprint: str) -> Replay:
    """What a request whose key is taken gets: the stored response, or why not (None: taken meanwhile)."""
    if seen is not None and seen.fingerprint != fingerprint:
        raise DomainError("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used for another request")
    if seen is None or seen.state != DONE or seen.status_code is None:
        raise DomainError("IDEMPOTENCY_KEY_IN_USE", "a request with this Idempotency-Key is still running")
    return Replay(seen.status_code, seen.response_body or "")
