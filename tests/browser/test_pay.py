"""The payment page (001 §1 scenario 6) in a real Chromium: a new card saved and paid, the
order followed to its saga outcome; a declined card with both options; a saved card; SBP by
its QR code and the bank simulator's button."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import APIRequestContext, Browser, Page, expect

from tests.browser.conftest import Products, new_phone_page
from tests.browser.money_helpers import (
    DECLINED_CARD,
    GOOD_CARD,
    awaiting_order,
    expect_paid,
    fill_new_card,
    share_session,
)
from tests.browser.system import ShopSystem

SHOTS = Path("/tmp/shots/pay")
SAGA_OUTCOME = re.compile("Подтверждён|Собирается|Готов к выдаче|Доставляется|Выполнен|Отменён")


def test_a_new_saved_card_pays_the_order_which_is_then_followed_to_its_saga_outcome(
    shop: ShopSystem, api: APIRequestContext, products: Products, customer_page: Page
) -> None:
    page = customer_page
    order_id = awaiting_order(shop, api, page, products.kettle.id)
    page.goto(f"/pay/{order_id}")
    expect(page.locator("#order-total")).to_have_text("2\u00a0499,00\u00a0₽")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "pay-desktop.png", full_page=True)
    fill_new_card(page, GOOD_CARD, save=True)
    page.get_by_role("button", name="Оплатить").click()
    expect_paid(page)
    # handed to the saga, followed live until the saga has spoken (confirmed or compensated)
    expect(page.locator("#order-status")).to_have_text(SAGA_OUTCOME, timeout=60_000)
    page.screenshot(path=SHOTS / "paid-desktop.png", full_page=True)

    second = awaiting_order(shop, api, page, products.kettle.id)
    page.goto(f"/pay/{second}")
    page.get_by_label(re.compile(r"\*\*\*\* 4242")).check()
    page.get_by_role("button", name="Оплатить").click()
    expect_paid(page)


def test_a_declined_card_shows_the_error_with_change_the_order_and_try_again(
    shop: ShopSystem, api: APIRequestContext, products: Products, customer_page: Page
) -> None:
    page = customer_page
    order_id = awaiting_order(shop, api, page, products.kettle.id)
    page.goto(f"/pay/{order_id}")
    fill_new_card(page, DECLINED_CARD)
    page.get_by_role("button", name="Оплатить").click()
    expect(page.get_by_role("alert")).to_contain_text("Недостаточно средств")
    expect(page.get_by_role("link", name="Изменить заказ")).to_have_attribute("href", "/cart")
    page.screenshot(path=SHOTS / "declined-desktop.png", full_page=True)
    page.get_by_role("link", name="Попробовать снова").click()
    expect(page.get_by_role("button", name="Оплатить")).to_be_visible()


def test_a_card_number_typed_wrong_is_shown_beside_the_field_and_the_typed_values_stay(
    shop: ShopSystem, api: APIRequestContext, products: Products, customer_page: Page
) -> None:
    page = customer_page
    order_id = awaiting_order(shop, api, page, products.kettle.id)
    page.goto(f"/pay/{order_id}")
    fill_new_card(page, "4242")
    page.get_by_role("button", name="Оплатить").click()
    expect(page.locator("#error-number")).to_contain_text("от 12 до 19 цифр")
    expect(page.get_by_label("Срок действия (ММ/ГГ)")).to_have_value("12/30")
    expect(page.get_by_label("Другая карта")).to_be_checked()


def test_sbp_shows_the_qr_picture_and_the_simulated_bank_app_pays_it(
    shop: ShopSystem,
    api: APIRequestContext,
    products: Products,
    customer_page: Page,
    browser: Browser,
    browser_context_args: dict[str, object],
) -> None:
    page = customer_page
    order_id = awaiting_order(shop, api, page, products.kettle.id)
    page.goto(f"/pay/{order_id}")
    page.get_by_label("СБП").check()
    page.get_by_role("button", name="Оплатить").click()
    picture = page.get_by_role("img", name="QR-код для оплаты через СБП")
    expect(picture).to_be_visible()
    # the picture itself loads through web_front (the browser never talks to payment)
    loaded = "img => img.complete && img.naturalWidth > 0"
    page.wait_for_function(loaded, arg=picture.element_handle())
    svg = page.request.get(str(picture.get_attribute("src")))
    assert svg.ok and svg.headers["content-type"].startswith("image/svg+xml")
    page.screenshot(path=SHOTS / "sbp-desktop.png", full_page=True)
    phone = new_phone_page(browser, browser_context_args)
    share_session(page, phone)
    phone.goto(page.url)
    expect(phone.get_by_role("img", name="QR-код для оплаты через СБП")).to_be_visible()
    phone.screenshot(path=SHOTS / "sbp-phone.png", full_page=True)
    phone.context.close()
    page.get_by_role("button", name="Оплатить в приложении банка (симулятор)").click()
    expect_paid(page)
