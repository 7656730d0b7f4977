"""A payment's refunds: the whole order's, or a partial cancellation's (SPEC §10.3), each its own unit of
work with its own id, so a redelivered request or a resumed drive never refunds twice.

A refund is planned when it is asked for (`shares`: SPEC §10.3's split over the legs, `market.kernel.refunds`)
and carried out leg by leg; `given` records each leg once it gave back, persisted step by step, so a drive
resumed after a crash goes on with the legs not yet given back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from market.kernel.clock import iso, parse_iso, parse_iso_required
from market.kernel.money import Won
from market.kernel.plan import Method
from market.kernel.refunds import Share

WHOLE = "WHOLE"  # the id of the whole order's refund: one per payment


@dataclass
class Refund:
    id: str
    amount: Won
    shares: dict[Method, Won]
    requested_at: datetime
    given: dict[Method, Won] = field(default_factory=dict)
    refunded_at: datetime | None = None

    @property
    def whole(self) -> bool:
        return self.id == WHOLE

    @property
    def open(self) -> bool:
        return self.refunded_at is None

    def given_back(self) -> tuple[Share, ...]:
        """What each leg gave back, the legs that gave nothing left out."""
        return tuple(Share(m, a) for m, a in self.given.items() if a > 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "amount": self.amount,
            "shares": {m.value: a for m, a in self.shares.items()},
            "requested_at": iso(self.requested_at),
            "given": {m.value: a for m, a in self.given.items()},
            "refunded_at": iso(self.refunded_at),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Refund:
        return cls(
            id=raw["id"],
            amount=int(raw["amount"]),
            shares={Method(m): int(a) for m, a in raw["shares"].items()},
            requested_at=parse_iso_required(raw["requested_at"]),
            given={Method(m): int(a) for m, a in raw.get("given", {}).items()},
            refunded_at=parse_iso(raw.get("refunded_at")),
        )
