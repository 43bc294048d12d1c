"""The personal cabinet in a real Chromium (001 §1 scenario 9): account data, the wallet
topped up by card and its new balance, then an order paid from the wallet; a wallet too
short is disabled with its reason; a saved card deleted."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import APIRequestContext, Browser, Page, expect

from tests.browser.conftest import Products, new_phone_page
from tests.browser.money_helpers import (
    GOOD_CARD,
    awaiting_order,
    expect_paid,
    fill_new_card,
    share_session,
)
from tests.browser.system import Account, ShopSystem

SHOTS = Path("/tmp/shots/cabinet")


def top_up(page: Page, rubles: str) -> None:
    page.goto("/cabinet")
    page.get_by_label("Сумма пополнения, ₽").fill(rubles)
    fill_new_card(page, GOOD_CARD, save=True)
    page.get_by_role("button", name="Пополнить баланс кошелька").click()


def test_a_wallet_too_short_is_disabled_with_its_reason(
    shop: ShopSystem, api: APIRequestContext, products: Products, customer_page: Page
) -> None:
    order_id = awaiting_order(shop, api, customer_page, products.kettle.id)
    customer_page.goto(f"/pay/{order_id}")
    expect(customer_page.get_by_label(re.compile("Кошелёк"))).to_be_disabled()
    expect(customer_page.get_by_text("Недостаточно средств: на балансе 0,00")).to_be_visible()


def test_a_wallet_topped_up_by_card_shows_its_new_balance_and_pays_an_order(
    shop: ShopSystem,
    api: APIRequestContext,
    products: Products,
    customer: Account,
    customer_page: Page,
    browser: Browser,
    browser_context_args: dict[str, Any],
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    customer_page.goto("/cabinet")
    expect(customer_page.get_by_text(customer.email)).to_be_visible()
    top_up(customer_page, "3000")
    expect(customer_page.locator("#new-balance")).to_have_text("3\u00a0000,00\u00a0₽")
    customer_page.get_by_role("link", name="Вернуться в личный кабинет").click()
    expect(customer_page.locator("#wallet-balance")).to_have_text("3\u00a0000,00\u00a0₽")
    expect(customer_page.get_by_role("cell", name="Пополнение")).to_be_visible()
    customer_page.screenshot(path=SHOTS / "cabinet-desktop.png", full_page=True)
    phone = new_phone_page(browser, browser_context_args)
    share_session(customer_page, phone)
    phone.goto("/cabinet")
    phone.screenshot(path=SHOTS / "cabinet-phone.png", full_page=True)
    phone.context.close()

    order_id = awaiting_order(shop, api, customer_page, products.kettle.id)
    customer_page.goto(f"/pay/{order_id}")
    customer_page.get_by_label(re.compile("Кошелёк")).check()
    customer_page.get_by_role("button", name="Оплатить").click()
    expect_paid(customer_page)
    customer_page.goto("/cabinet")
    expect(customer_page.locator("#wallet-balance")).to_have_text("501,00\u00a0₽")


def test_a_saved_card_can_be_deleted_from_the_cabinet(customer_page: Page) -> None:
    top_up(customer_page, "100")
    expect(customer_page.locator("#new-balance")).to_be_visible()
    customer_page.goto("/cabinet")
    customer_page.get_by_role("button", name="Удалить карту **** 4242").click()
    expect(customer_page.get_by_text("Карта удалена.")).to_be_visible()
    expect(customer_page.get_by_text("Сохранённых карт нет")).to_be_visible()


def test_a_top_up_below_100_rubles_is_explained_beside_the_amount(customer_page: Page) -> None:
    customer_page.goto("/cabinet")
    customer_page.get_by_label("Сумма пополнения, ₽").fill("50")
    customer_page.get_by_label("СБП").check()
    customer_page.get_by_role("button", name="Пополнить баланс кошелька").click()
    expect(customer_page.locator("#error-amount")).to_contain_text("от 100,00")
    expect(customer_page.get_by_label("Сумма пополнения, ₽")).to_have_value("50")
