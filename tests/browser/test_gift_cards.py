"""Gift cards in a real Chromium (001 §1 scenarios 7-8): bought and paid by one customer,
its code e-mailed to the donee, activated by the donee (another customer) and spent on an
order; a wrong code is shown beside the field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import APIRequestContext, Browser, Page, expect

from tests.browser.conftest import Products, log_in, new_phone_page, register_account
from tests.browser.money_helpers import GOOD_CARD, awaiting_order, expect_paid, fill_new_card
from tests.browser.system import ShopSystem, new_account
from trials.shoppers.inbox import wait_for_codes

SHOTS = Path("/tmp/shots/gift_cards")


def buy_gift_card(page: Page, email: str, rubles: str) -> None:
    page.goto("/gift-cards/buy")
    page.get_by_label("Имя получателя").fill("Борис")
    page.get_by_label("E-mail получателя").fill(email)
    page.get_by_label("Сумма, ₽").fill(rubles)
    page.get_by_label("С днём рождения").check()
    page.get_by_role("button", name="Перейти к оплате").click()


def test_a_bought_gift_card_reaches_the_donee_who_activates_it_and_pays_an_order_with_it(
    shop: ShopSystem,
    api: APIRequestContext,
    products: Products,
    customer_page: Page,
    browser: Browser,
    browser_context_args: dict[str, Any],
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    donee = register_account(shop, api, new_account("donee"))
    customer_page.goto("/gift-cards/buy")
    customer_page.screenshot(path=SHOTS / "buy-desktop.png", full_page=True)
    buy_gift_card(customer_page, donee.email, "3000")
    expect(customer_page.locator("#order-total")).to_have_text("3\u00a0000,00\u00a0₽")
    fill_new_card(customer_page, GOOD_CARD)
    customer_page.get_by_role("button", name="Оплатить").click()
    expect_paid(customer_page)
    expect(customer_page.get_by_text(f"будет отправлена на {donee.email}")).to_be_visible()
    expect(customer_page.locator("#order-status")).to_have_text("Выполнен", timeout=60_000)

    [code] = shop.run(wait_for_codes(shop.stack.state / "sent", donee.email, timeout=60))
    donee_page = new_phone_page(browser, browser_context_args)
    log_in(donee_page, donee)
    order_id = awaiting_order(shop, api, donee_page, products.kettle.id)
    donee_page.goto(f"/pay/{order_id}")
    donee_page.get_by_role("link", name="Новая подарочная карта").click()
    donee_page.get_by_label("Код активации").fill(code)
    donee_page.get_by_role("button", name="Активировать подарочную карту").click()
    expect(donee_page.get_by_role("status")).to_contain_text("3\u00a0000,00\u00a0₽")
    donee_page.screenshot(path=SHOTS / "activated-phone.png", full_page=True)
    donee_page.get_by_role("link", name="Вернуться к оплате").click()
    donee_page.get_by_label(re.compile("Подарочная карта")).check()
    donee_page.get_by_role("button", name="Оплатить").click()
    expect_paid(donee_page)
    donee_page.context.close()


def test_a_wrong_code_is_shown_beside_the_field_with_the_code_kept(customer_page: Page) -> None:
    customer_page.goto("/gift-cards/activate")
    customer_page.get_by_label("Код активации").fill("WRONG-CODE-1234")
    customer_page.get_by_role("button", name="Активировать подарочную карту").click()
    expect(customer_page.locator("#error-code")).to_contain_text("не найдена")
    expect(customer_page.get_by_label("Код активации")).to_have_value("WRONG-CODE-1234")
    customer_page.screenshot(path=SHOTS / "wrong-code-desktop.png", full_page=True)


def test_an_amount_outside_500_to_50000_rubles_is_explained_beside_the_field(
    customer_page: Page,
) -> None:
    buy_gift_card(customer_page, "friend@example.ru", "100")
    expect(customer_page.locator("#error-amount")).to_contain_text("от 500,00")
    expect(customer_page.get_by_label("E-mail получателя")).to_have_value("friend@example.ru")
    expect(customer_page.get_by_label("С днём рождения")).to_be_checked()
