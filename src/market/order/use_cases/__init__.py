"""The order service's use cases; `OrderService` is their entry point."""

from market.order.domain import Replay, Started
from market.order.use_cases.service import OrderService

__all__ = ["OrderService", "Replay", "Started"]
