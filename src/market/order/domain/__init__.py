"""The order domain: the aggregate and its status machine, the line rules, the saga reactions, key uses."""

from market.order.domain.cancellation import Cancellation, check_request
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
    OrderLeg,
    OrderStatus,
    TimelineEntry,
    new_order_id,
)
from market.order.domain.saga import cancellation_requested, history, nudge, order_created, react
from market.order.domain.view import cancel_preview_view, order_view, preview_view

__all__ = [
    "ABANDONED_AFTER",
    "CANCEL_WINDOW",
    "DONE",
    "IN_FLIGHT",
    "KEY_RETENTION",
    "MAX_LINES",
    "MAX_QUANTITY",
    "Cancellation",
    "KeyUse",
    "Line",
    "Offer",
    "Order",
    "OrderLeg",
    "OrderStatus",
    "Replay",
    "Started",
    "TimelineEntry",
    "cancel_preview_view",
    "cancellation_requested",
    "check_lines",
    "check_request",
    "history",
    "new_order_id",
    "nudge",
    "order_created",
    "order_view",
    "preview_view",
    "price_lines",
    "react",
    "replay_of",
]
