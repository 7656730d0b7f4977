"""The events of SPEC §6: the envelope every transport carries, and one typed payload per event type and
version, which producers and consumers share (the services meet here, never in each other's code).

A producer makes an envelope with `envelope(payload, order_id, at)`; a consumer reads it back with
`envelope.body()`, which raises `MalformedEvent` for a payload that does not fit its type. A new version of
an event is a new class with the same `TYPE` and the next `VERSION`; both stay readable while producers move.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import orjson

from market.kernel import codec
from market.kernel.clock import iso
from market.kernel.money import Won
from market.kernel.plan import Leg, Method
from market.kernel.refunds import Share

ORDER_EVENTS = "order.events"
PAYMENT_EVENTS = "payment.events"
# The catalog's changes, for the caches of other services. Its envelopes are keyed (`order_id`) by the
# product's id: one product's changes stay in order.
PRODUCT_EVENTS = "product.events"


class MalformedEvent(ValueError):
    """An envelope or a payload that is not what its type and version say: no retry can read it."""


@dataclass(frozen=True)
class LineBought:
    """A line of an order. `seller_id` and `name` came later (the read side needs them): empty in the
    events of orders placed before."""

    product_id: str
    quantity: int
    unit_price: Won
    seller_id: str = ""
    name: str = ""


@dataclass(frozen=True)
class LineCancelled:
    """A quantity of one product of an order, cancelled."""

    product_id: str
    quantity: int


@dataclass(frozen=True)
class LegOutcome:
    """How far the payment service took a leg (its status, as the order shows it)."""

    method: Method
    amount: Won
    status: str


@dataclass(frozen=True)
class OrderCreated:
    """A PENDING order whose stock is held: what the payment service needs to take its payment."""

    TYPE: ClassVar[str] = "OrderCreated"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = ORDER_EVENTS
    member_id: str
    total_amount: Won
    items: tuple[LineBought, ...]
    payments: tuple[Leg, ...]


@dataclass(frozen=True)
class OrderFailed:
    TYPE: ClassVar[str] = "OrderFailed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = ORDER_EVENTS
    member_id: str
    reason: str


@dataclass(frozen=True)
class OrderCancellationRequested:
    TYPE: ClassVar[str] = "OrderCancellationRequested"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = ORDER_EVENTS
    member_id: str


@dataclass(frozen=True)
class OrderCancelled:
    """The order is CANCELLED: nothing of it is open. `items` and `refund_amount` are what its last
    cancellation cancelled and refunded (absent, `()` and None, from events written before they existed)."""

    TYPE: ClassVar[str] = "OrderCancelled"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = ORDER_EVENTS
    member_id: str
    items: tuple[LineCancelled, ...] = ()
    refund_amount: Won | None = None


@dataclass(frozen=True)
class OrderPartialCancellationRequested:
    """Part of a PAID order is to be cancelled (SPEC §10.3): refund `refund_amount` won over its legs."""

    TYPE: ClassVar[str] = "OrderPartialCancellationRequested"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = ORDER_EVENTS
    member_id: str
    cancellation_id: str
    items: tuple[LineCancelled, ...]
    refund_amount: Won


@dataclass(frozen=True)
class OrderPartiallyCancelled:
    """Part of the order was cancelled and refunded; the order stays PAID. `refunds`: each leg's share."""

    TYPE: ClassVar[str] = "OrderPartiallyCancelled"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = ORDER_EVENTS
    member_id: str
    cancellation_id: str
    items: tuple[LineCancelled, ...]
    refund_amount: Won
    refunds: tuple[Share, ...]


@dataclass(frozen=True)
class PaymentCompleted:
    TYPE: ClassVar[str] = "PaymentCompleted"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = PAYMENT_EVENTS
    member_id: str
    legs: tuple[LegOutcome, ...]
    approved_at: datetime


@dataclass(frozen=True)
class PaymentFailed:
    TYPE: ClassVar[str] = "PaymentFailed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = PAYMENT_EVENTS
    member_id: str
    legs: tuple[LegOutcome, ...]
    reason: str


@dataclass(frozen=True)
class PaymentRefunded:
    TYPE: ClassVar[str] = "PaymentRefunded"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = PAYMENT_EVENTS
    member_id: str
    legs: tuple[LegOutcome, ...]
    refunded_at: datetime


@dataclass(frozen=True)
class ProductChanged:
    """An admin changed a product (price, stock on hand or sale status): what it is now."""

    TYPE: ClassVar[str] = "ProductChanged"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = PRODUCT_EVENTS
    product_id: str
    seller_id: str
    price: Won
    stock: int
    status: str


@dataclass(frozen=True)
class PaymentPartiallyRefunded:
    """The refund of a partial cancellation went through: what each leg gave back."""

    TYPE: ClassVar[str] = "PaymentPartiallyRefunded"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = PAYMENT_EVENTS
    member_id: str
    cancellation_id: str
    refunds: tuple[Share, ...]
    refunded_at: datetime


Event = (
    OrderCreated
    | OrderFailed
    | OrderCancellationRequested
    | OrderCancelled
    | OrderPartialCancellationRequested
    | OrderPartiallyCancelled
    | PaymentCompleted
    | PaymentFailed
    | PaymentRefunded
    | ProductChanged
    | PaymentPartiallyRefunded
)
EVENT_TYPES: dict[tuple[str, int], type[Event]] = {
    (cls.TYPE, cls.VERSION): cls
    for cls in (
        OrderCreated,
        OrderFailed,
        OrderCancellationRequested,
        OrderCancelled,
        OrderPartialCancellationRequested,
        OrderPartiallyCancelled,
        PaymentCompleted,
        PaymentFailed,
        PaymentRefunded,
        ProductChanged,
        PaymentPartiallyRefunded,
    )
}
TOPIC_OF = {type_: cls.TOPIC for (type_, _), cls in EVENT_TYPES.items()}


@dataclass(frozen=True)
class Envelope:
    """SPEC §6's envelope: `{event_id, type, version, occurred_at, order_id, payload}`.

    `trace` is not part of it: the W3C `traceparent` of the context that wrote the event, which the
    transports carry beside the envelope (the outbox's column, a Kafka header), never in its body.
    """

    type: str
    order_id: str
    payload: dict[str, Any]
    occurred_at: str
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: int = 1
    trace: str = field(default="", compare=False, repr=False)

    @property
    def topic(self) -> str:
        return TOPIC_OF[self.type]

    def body(self) -> Event:
        """The typed payload; MalformedEvent if the type is unknown or the payload does not fit it."""
        cls = EVENT_TYPES.get((self.type, self.version))
        if cls is None:
            raise MalformedEvent(f"unknown event {self.type} v{self.version}")
        try:
            return codec.build(cls, self.payload)
        except ValueError as exc:
            raise MalformedEvent(f"{self.type} v{self.version}: {exc}") from None

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
    def from_bytes(cls, data: bytes | str, trace: str = "") -> Envelope:
        """The envelope in `data` (and the `trace` its transport carried beside it); MalformedEvent if it
        is not one (its payload is read by `body`)."""
        try:
            raw = orjson.loads(data)
            return cls(
                type=str(raw["type"]),
                order_id=str(raw["order_id"]),
                payload=dict(raw["payload"]),
                occurred_at=str(raw["occurred_at"]),
                event_id=str(raw["event_id"]),
                version=int(raw.get("version", 1)),
                trace=trace,
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedEvent(f"not an event envelope: {exc}") from None


def envelope(payload: Event, order_id: str, at: datetime, once: str | None = None) -> Envelope:
    """The envelope announcing `payload` about an order, dated `at`. With `once` (a name for this
    announcement, unique within the order), its event id is derived from it: announced again (a stuck
    saga nudged), it is the same event, which the consumers that handled it skip."""
    return Envelope(
        type=payload.TYPE,
        order_id=order_id,
        payload=codec.plain(payload),
        occurred_at=iso(at) or "",
        version=payload.VERSION,
        **({"event_id": str(uuid.uuid5(_ONCE, f"{order_id}/{once}"))} if once else {}),
    )


_ONCE = uuid.UUID("6f1c2b1e-8d0a-4f4e-9c53-2a8f5d0b7e11")  # the namespace of events announced once
