"""The order domain: the aggregate and its status machine, the line rules, the saga reactions, key uses."""

from market.order.domain.keys import (
    ABANDONED_AFTER,
    DONE,
    IN_FLIGHT,
    KEY_RETENTION,
    KeyUse,
    Replay,
    Started,
    replay_of,
)
from market.order.domain.lines import MAX_LINES, MAX_QUANTITY, Line, Offer, check_lines, price_lines
from market.order.domain.order import (
    CANCEL_WINDOW,
    Order,
    OrderStatus,
    PaymentLeg,
    TimelineEntry,
    new_order_id,
)
from market.order.domain.saga import REACTIONS, cancellation_requested, order_created

__all__ = [
    "ABANDONED_AFTER",
    "CANCEL_WINDOW",
    "DONE",
    "IN_FLIGHT",
    "KEY_RETENTION",
    "MAX_LINES",
    "MAX_QUANTITY",
    "REACTIONS",
    "KeyUse",
    "Line",
    "Offer",
    "Order",
    "OrderStatus",
    "PaymentLeg",
    "Replay",
    "Started",
    "TimelineEntry",
    "cancellation_requested",
    "check_lines",
    "new_order_id",
    "order_created",
    "price_lines",
    "replay_of",
]
