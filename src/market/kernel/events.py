"""The event envelope of SPEC §6 and the topic each event type travels on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from market.kernel.clock import iso

ORDER_EVENTS = "order.events"
PAYMENT_EVENTS = "payment.events"

TOPIC_OF = {
    "OrderCreated": ORDER_EVENTS,
    "OrderFailed": ORDER_EVENTS,
    "OrderCancellationRequested": ORDER_EVENTS,
    "OrderCancelled": ORDER_EVENTS,
    "PaymentCompleted": PAYMENT_EVENTS,
    "PaymentFailed": PAYMENT_EVENTS,
    "PaymentRefunded": PAYMENT_EVENTS,
}


@dataclass(frozen=True)
class Envelope:
    type: str
    order_id: str
    payload: dict[str, Any]
    occurred_at: str
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: int = 1

    @property
    def topic(self) -> str:
        return TOPIC_OF[self.type]

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "event_id": self.event_id,
                "type": self.type,
                "version": self.version,
                "occurred_at": self.occurred_at,
                "order_id": self.order_id,
                "payload": self.payload,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes | str) -> Envelope:
        raw = orjson.loads(data)
        return cls(
            type=raw["type"],
            order_id=raw["order_id"],
            payload=raw["payload"],
            occurred_at=raw["occurred_at"],
            event_id=raw["event_id"],
            version=raw.get("version", 1),
        )


def event(type_: str, order_id: str, at: datetime, **payload: Any) -> Envelope:
    if type_ not in TOPIC_OF:
        raise ValueError(f"unknown event type {type_}")
    return Envelope(type=type_, order_id=order_id, payload=payload, occurred_at=iso(at) or "")
