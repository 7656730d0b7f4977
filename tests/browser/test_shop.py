"""A member in the storefront: buys with card, points and a coupon (the rules' verdicts shown before paying)
and cancels one line of the order."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import shot
from tests.browser.data import Shop
from tests.browser.shopping import add_to_cart, buy, log_in


def test_a_member_buys_with_card_points_and_a_coupon_and_sees_the_rules_before_paying(
    page: Page, shop: Shop
) -> None:
    cup, card = shop.product("Celadon cup", 12_000)["name"], shop.product("Hanji card", 6_500)["name"]
    member = shop.member(points=5_000, coupon_off=3_000)
    log_in(page, member)
    add_to_cart(page, cup, 2)
    add_to_cart(page, card, 1)
    shot(page, "shop-catalog")
    page.goto("/shop/#/checkout")
    expect(page.get_by_test_id("total")).to_have_text("₩30,500")

    page.get_by_role("spinbutton", name=re.compile("^Points")).fill(
        "9000"
    )  # more than the balance: the server's rule says so at once
    expect(page.get_by_test_id("verdict")).to_contain_text("INSUFFICIENT_POINTS")
    expect(page.get_by_role("button", name="Pay")).to_be_disabled()
    page.get_by_role("spinbutton", name=re.compile("^Points")).fill("2000")
    page.get_by_role("combobox", name=re.compile("^Coupon")).select_option(label="3000 won off")
    expect(page.get_by_test_id("verdict")).to_contain_text("The plan passes every rule.")
    # The coupon's discount is the server's; the card pays what the points and the coupon leave.
    expect(page.locator("tr[data-leg=COUPON]")).to_contain_text("₩3,000")
    expect(page.locator("tr[data-leg=PG]")).to_contain_text("₩25,500")
    shot(page, "shop-checkout")
    page.get_by_role("button", name="Pay").click()

    expect(page.get_by_test_id("order-status")).to_contain_text("PAID", timeout=20_000)
    shot(page, "shop-order-paid")
    me = shop.http.get("/api/v1/members/me", headers={"Authorization": f"Bearer {member.token}"}).json()
    assert me["point_balance"] == 3_000


def test_a_member_cancels_one_line_and_sees_its_refund_split(page: Page, shop: Shop) -> None:
    if not shop.offers("/api/v1/orders/{order_id}/cancel", "post", "items"):
        pytest.skip("partial cancellation (POST /orders/{id}/cancel with items) is not on this server yet")
    spoon, napkin = shop.product("Brass spoon", 10_000)["name"], shop.product("Linen napkin", 5_000)["name"]
    member = shop.member(points=5_000, coupon_off=3_000)
    order_id = buy(page, member, [(spoon, 2), (napkin, 1)], points=2_000, coupon="3000 won off")

    page.get_by_role("button", name="Cancel the chosen quantities").click()
    page.get_by_label(f"Quantity to cancel: {napkin}").fill("1")
    expect(page.get_by_test_id("refund-total")).to_have_text("₩5,000")
    shot(page, "shop-cancel-split")
    page.get_by_role("button", name="Confirm the cancellation").click()

    expect(page.locator("td[data-refunded=PG]")).not_to_have_text("₩0", timeout=20_000)
    expect(page.get_by_test_id("order-status")).to_contain_text("PAID")
    shot(page, "shop-order-partly-cancelled")
    order = shop.http.get(f"/api/v1/orders/{order_id}", headers=shop.admin).json()
    assert [(i["name"], i["cancelled_quantity"]) for i in order["items"]] == [
        (spoon, 0),
        (napkin, 1),
    ]


def test_the_shop_speaks_korean_and_works_from_the_keyboard(page: Page, shop: Shop) -> None:
    fan = shop.product("Bamboo fan", 7_000)["name"]
    page.goto("/shop/")
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.get_by_role("combobox", name="Language").select_option("ko")
    expect(page.get_by_role("heading", name="상품 목록")).to_be_visible()
    add = page.get_by_role("button", name=f"장바구니에 담기: {fan}")
    add.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="장바구니에 담았습니다")).to_be_visible()
    page.get_by_role("link", name="장바구니").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="장바구니")).to_be_focused()
    expect(page.locator("tfoot")).to_contain_text("₩7,000")
    shot(page, "shop-cart-ko")
