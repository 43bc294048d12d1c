"""Steps a shopper takes again and again in the cart and orders tests: put a product in the
cart through its page, and check the cart out with a pickup point."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

PAY_URL = re.compile(r"/pay/(?P<order>[^/?#]+)$")


def put_in_cart(page: Page, product_id: int, quantity: int = 1) -> None:
    page.goto(f"/products/{product_id}")
    page.get_by_label("Количество").fill(str(quantity))
    page.get_by_role("button", name="Добавить в корзину").click()
    expect(page.get_by_role("status")).to_contain_text("Товар добавлен в корзину")


def check_out_with_pickup(page: Page) -> None:
    """From the cart to the payment page's address (that page is another area's)."""
    page.goto("/cart")
    page.get_by_role("link", name="Оформить заказ").click()
    page.get_by_label("Забрать товар на пункте выдачи").check()
    page.locator("input[name=pointId]").first.check()
    page.get_by_role("button", name="Оплатить заказ").click()
    page.wait_for_url(PAY_URL)


def order_id_from_url(page: Page) -> str:
    found = PAY_URL.search(page.url)
    assert found, page.url
    return found["order"]
