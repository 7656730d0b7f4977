"""The order service's use cases; `OrderService` is their entry point."""

from market.order.use_cases.idempotency import Keyed, Reply
from market.order.use_cases.service import OrderService

__all__ = ["Keyed", "OrderService", "Reply"]
