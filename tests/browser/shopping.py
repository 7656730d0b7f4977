"""What a member does in the storefront, step by step, for the scenarios to share."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import shot
from tests.browser.data import Member


def log_in(page: Page, member: Member, where: str = "/shop/#/orders") -> None:
    page.goto(where)
    page.get_by_label("E-mail").fill(member.email)
    page.get_by_label("Password").fill(member.password)
    page.get_by_role("button", name="Log in").click()


def add_to_cart(page: Page, name: str, quantity: int) -> None:
    page.goto("/shop/#/catalog")
    page.get_by_label(f"Quantity: {name}").fill(str(quantity))
    page.get_by_role("button", name=f"Add to cart: {name}").click()


def buy(page: Page, member: Member, lines: list[tuple[str, int]], points: int, coupon: str | None) -> str:
    """Log in, fill the cart, compose card + points + coupon, pay; the order's id once it is PAID."""
    log_in(page, member)
    for name, quantity in lines:
        add_to_cart(page, name, quantity)
    shot(page, "shop-catalog")
    page.goto("/shop/#/cart")
    page.get_by_role("button", name="Check out").click()
    page.get_by_role("spinbutton", name=re.compile("^Points")).fill(str(points))
    if coupon:
        page.get_by_role("combobox", name=re.compile("^Coupon")).select_option(label=coupon)
    expect(page.get_by_test_id("verdict")).to_contain_text("The plan passes every rule.")
    shot(page, "shop-checkout")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_test_id("order-status")).to_contain_text("PAID", timeout=20_000)
    return page.get_by_test_id("order-id").inner_text()
