""" "Мои заказы", one order's page and "Мои уведомления" as a customer reads them: the list with
each order's status history, the order's positions, delivery and live status, cancelling an
unpaid order, and the greeting among the notifications."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import APIRequestContext, Browser, Locator, Page, expect

from tests.browser.conftest import Products, log_in, new_phone_page, register_account
from tests.browser.shopping import check_out_with_pickup, order_id_from_url, put_in_cart
from tests.browser.system import Account, ShopSystem, new_account

SHOTS = "/tmp/shots/orders"


def visible_after_reloads(page: Page, target: Locator, reloads: int = 10) -> None:
    """Wait for something the services send on their own time (a Kafka message away): a
    person reloads the page now and then, so does this, a bounded number of times."""
    for _ in range(reloads):
        try:
            expect(target).to_be_visible(timeout=3_000)
            return
        except AssertionError:  # expect() raises it once its wait is over
            page.reload()
    expect(target).to_be_visible()


def test_my_orders_lists_a_checked_out_order_with_its_status_history(
    customer_page: Page, products: Products
):
    page = customer_page
    put_in_cart(page, products.kettle.id, 2)
    check_out_with_pickup(page)
    page.get_by_role("link", name="Мои заказы").click()
    entry = page.locator(".orders-list li").first
    expect(entry).to_contain_text("Ожидает оплаты")
    expect(entry).to_contain_text(f"{products.kettle.name} × 2")
    entry.get_by_text("История статусов").click()
    expect(entry.locator(".history li")).to_have_count(2)
    expect(entry.locator(".history")).to_contain_text("Создан")
    page.screenshot(path=f"{SHOTS}/orders-desktop.png", full_page=True)
    entry.get_by_role("link").first.click()
    expect(page.get_by_test_id("order-status")).to_have_text("Ожидает оплаты")
    expect(page.get_by_role("row", name=products.kettle.name)).to_contain_text("4 998,00")
    expect(page.get_by_text("Самовывоз: Пункт выдачи «")).to_be_visible()
    expect(page.get_by_text("страница обновляется сама")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/order-desktop.png", full_page=True)


def test_cancelling_an_unpaid_order_from_its_page_shows_it_cancelled_in_its_history(
    customer_page: Page, products: Products
):
    page = customer_page
    put_in_cart(page, products.coffee_maker.id, 1)
    check_out_with_pickup(page)
    page.goto(f"/orders/{order_id_from_url(page)}")
    page.get_by_role("button", name="Отменить заказ").click()
    expect(page.get_by_role("status")).to_have_text("Заказ отменён.")
    expect(page.get_by_test_id("order-status")).to_have_text("Отменён")
    history = page.locator("ol.history")
    expect(history).to_contain_text("Отменён, вы")
    expect(page.get_by_role("button", name="Отменить заказ")).to_have_count(0)
    expect(page.get_by_role("link", name="Оплатить заказ")).to_have_count(0)


def test_a_stale_cancel_is_read_again_and_explained(customer_page: Page, products: Products):
    page = customer_page
    put_in_cart(page, products.coffee_maker.id, 1)
    check_out_with_pickup(page)
    order_page = f"/orders/{order_id_from_url(page)}"
    page.goto(order_page)
    other = page.context.new_page()
    other.goto(order_page)
    other.get_by_role("button", name="Отменить заказ").click()
    expect(other.get_by_test_id("order-status")).to_have_text("Отменён")
    other.close()
    page.get_by_role("button", name="Отменить заказ").click()
    expect(page.get_by_role("alert")).to_contain_text("Заказ изменился")
    expect(page.get_by_test_id("order-status")).to_have_text("Отменён")


def test_someone_elses_order_is_not_found(
    browser: Browser, browser_context_args: dict[str, Any], customer_page: Page,
    products: Products, shop: ShopSystem, api: APIRequestContext,
):  # fmt: skip
    put_in_cart(customer_page, products.coffee_maker.id, 1)
    check_out_with_pickup(customer_page)
    order_id = order_id_from_url(customer_page)
    stranger = register_account(shop, api, new_account("stranger"))
    page = log_in(browser.new_context(**browser_context_args).new_page(), stranger)
    answer = page.goto(f"/orders/{order_id}")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("button", name="Отменить заказ")).to_have_count(0)
    page.context.close()


def order_svc_call(page: Page, shop: ShopSystem, method: str, path: str, body: Any) -> Any:
    """order_svc's edge with the browser's own session, as another tab or the payment would."""
    session = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionId")
    answer = page.request.fetch(
        f"{shop.url_of('order_svc')}{path}",
        method=method,
        data=body,
        headers={"Cookie": f"sessionId={session}", "Idempotency-Key": new_account().username},
    )
    assert answer.ok, answer.text()
    return answer.json()


def test_the_order_page_follows_the_status_without_a_reload(
    customer_page: Page, products: Products, shop: ShopSystem
):
    page = customer_page
    put_in_cart(page, products.coffee_maker.id, 1)
    check_out_with_pickup(page)
    order_id = order_id_from_url(page)
    page.goto(f"/orders/{order_id}")
    expect(page.get_by_test_id("order-status")).to_have_text("Ожидает оплаты")
    order_svc_call(page, shop, "PUT", "/cancel", {"id": order_id})
    expect(page.get_by_test_id("order-status")).to_have_text("Отменён")
    expect(page.get_by_text("страница обновляется сама")).to_have_count(0)


def test_a_gift_card_order_shows_the_donee_and_the_amount_instead_of_delivery(
    customer_page: Page, shop: ShopSystem
):
    page = customer_page
    body = {"doneeName": "Мария", "doneeEmail": "maria@example.ru", "amount": 300_000}
    order = order_svc_call(page, shop, "POST", "/gift-card-orders", body)
    page.goto(f"/orders/{order['id']}")
    expect(page.get_by_role("heading", name="Подарочная карта")).to_be_visible()
    expect(page.get_by_text("Мария (maria@example.ru)")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("3 000,00\u00a0₽")
    expect(page.get_by_role("heading", name="Доставка")).to_have_count(0)


def test_the_notifications_page_lists_the_greeting_with_its_promo_code(customer_page: Page):
    page = customer_page
    page.get_by_role("link", name="Мои заказы").click()
    page.get_by_role("link", name="Мои уведомления").click()
    greeting = page.locator(".orders-list li").filter(has_text="Добро пожаловать")
    visible_after_reloads(page, greeting)
    expect(greeting).to_contain_text("Промокод на первую покупку")
    expect(greeting).to_contain_text("SMS на +7")
    page.screenshot(path=f"{SHOTS}/notifications-desktop.png", full_page=True)


def test_on_a_phone_the_orders_pages_fit_the_screen(
    browser: Browser, browser_context_args: dict[str, Any], customer: Account,
    products: Products,
):  # fmt: skip
    page = log_in(new_phone_page(browser, browser_context_args), customer)
    put_in_cart(page, products.kettle.id, 1)
    check_out_with_pickup(page)
    page.goto(f"/orders/{order_id_from_url(page)}")
    expect(page.get_by_test_id("order-status")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=f"{SHOTS}/order-phone.png", full_page=True)
    page.goto("/orders")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=f"{SHOTS}/orders-phone.png", full_page=True)
    page.context.close()
