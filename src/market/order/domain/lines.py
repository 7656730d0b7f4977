"""An order's lines and the line rules of SPEC §4: 1–50 lines, quantity 1–999, each product once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from market.kernel.errors import DomainError
from market.kernel.money import Won

MAX_LINES = 50
MAX_QUANTITY = 999


class Offer(Protocol):
    """What the catalog says about a product (structural: the catalog port's snapshot fits)."""

    @property
    def seller_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def price(self) -> int: ...
    @property
    def on_sale(self) -> bool: ...


@dataclass(frozen=True)
class Line:
    """A line of an order; `cancelled_quantity` of its `quantity` were cancelled (and refunded) since."""

    product_id: str
    name: str
    unit_price: Won
    quantity: int
    seller_id: str = ""  # empty in orders stored before lines carried it
    cancelled_quantity: int = 0

    @property
    def line_amount(self) -> Won:
        return self.unit_price * self.quantity

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.cancelled_quantity


def check_lines(requested: Sequence[tuple[str, int]]) -> None:
    """The line rules, in SPEC §4's order: the count, each quantity, then each product at most once."""
    if not requested:
        raise DomainError("VALIDATION_ERROR", "an order needs at least one line")
    if len(requested) > MAX_LINES:
        raise DomainError("TOO_MANY_ITEMS", f"an order has at most {MAX_LINES} lines", max_items=MAX_LINES)
    for product_id, quantity in requested:
        if not 1 <= quantity <= MAX_QUANTITY:
            raise DomainError("INVALID_QUANTITY", f"a quantity is 1 to {MAX_QUANTITY}", product_id=product_id)
    seen: set[str] = set()
    for product_id, _ in requested:
        if product_id in seen:
            raise DomainError(
                "DUPLICATE_PRODUCT", "a product may appear once per order", product_id=product_id
            )
        seen.add(product_id)


def price_lines(requested: Sequence[tuple[str, int]], catalog: Mapping[str, Offer]) -> list[Line]:
    """The lines at catalog prices: every product must exist, then every product must be on sale."""
    for product_id, _ in requested:
        if product_id not in catalog:
            raise DomainError("PRODUCT_NOT_FOUND", f"no product {product_id}", product_id=product_id)
    for product_id, _ in requested:
        if not catalog[product_id].on_sale:
            raise DomainError(
                "PRODUCT_NOT_ON_SALE", f"product {product_id} is not on sale", product_id=product_id
            )
    return [
        Line(pid, catalog[pid].name, catalog[pid].price, quantity, catalog[pid].seller_id)
        for pid, quantity in requested
    ]
