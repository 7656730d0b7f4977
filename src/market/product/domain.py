"""Sellers, products and the stock reservations orders hold, in the standard library only."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from market.kernel.errors import DomainError

ON_SALE = "ON_SALE"
STOPPED = "STOPPED"
STATUSES = frozenset({ON_SALE, STOPPED})
RESERVED = "RESERVED"
RELEASED = "RELEASED"

MAX_PRICE = 1_000_000_000_000
MAX_STOCK = 1_000_000_000
MAX_QUANTITY = 999
MAX_LINES = 50


@dataclass(frozen=True)
class Seller:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Product:
    """`stock` is on hand; `stock_received` is all ever put in, so received = on hand + reserved."""

    id: str
    seller_id: str
    name: str
    price: int
    stock: int
    stock_received: int
    status: str
    created_at: datetime
    updated_at: datetime

    @property
    def on_sale(self) -> bool:
        return self.status == ON_SALE

    def changed(self, at: datetime, price: int | None, stock: int | None, status: str | None) -> Product:
        """This product with a new price, on-hand stock or status; received stock moves with on hand."""
        new_stock = self.stock if stock is None else check_stock(stock)
        return replace(
            self,
            price=self.price if price is None else check_price(price),
            stock=new_stock,
            stock_received=self.stock_received + (new_stock - self.stock),
            status=self.status if status is None else check_status(status),
            updated_at=at,
        )


@dataclass(frozen=True)
class Reservation:
    """The stock of one product that one order holds, until the order fails or is cancelled."""

    order_id: str
    product_id: str
    quantity: int
    status: str
    created_at: datetime
    released_at: datetime | None = None

    @property
    def held(self) -> bool:
        return self.status == RESERVED


def invalid(field: str, message: str) -> DomainError:
    return DomainError(
        "VALIDATION_ERROR", f"{field}: {message}", errors=[{"field": field, "message": message}]
    )


def _whole(value: int, low: int, high: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(field, f"must be a whole number from {low} to {high}")
    return value


def check_price(price: int) -> int:
    return _whole(price, 1, MAX_PRICE, "price")


def check_stock(stock: int) -> int:
    return _whole(stock, 0, MAX_STOCK, "stock")


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise invalid("status", f"must be one of {sorted(STATUSES)}")
    return status


def check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise invalid("name", "must have 1 to 200 characters")
    return name


def check_lines(lines: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """An order's lines as SPEC §4 bounds them, sorted by product (rows are then locked in one order)."""
    if not 1 <= len(lines) <= MAX_LINES:
        raise DomainError("TOO_MANY_ITEMS", f"an order has 1 to {MAX_LINES} lines")
    if any(isinstance(q, bool) or not isinstance(q, int) or not 1 <= q <= MAX_QUANTITY for _, q in lines):
        raise DomainError("INVALID_QUANTITY", f"a quantity is 1 to {MAX_QUANTITY}")
    if len({product_id for product_id, _ in lines}) != len(lines):
        raise DomainError("DUPLICATE_PRODUCT", "a product appears at most once per order")
    return sorted(lines)
