""" "Моя корзина" and "Оформить заказ" as a shopper uses them (001 §1 scenarios 4-5): the
cart's positions and totals, quantities, "Удалить" with its confirmation, the empty cart,
checkout with a pickup point or a courier, a field error, and stock that runs short."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Products, log_in, new_phone_page
from tests.browser.shopping import PAY_URL, order_id_from_url, put_in_cart
from tests.browser.system import Account, ShopSystem

SHOTS = "/tmp/shots/cart"


def test_the_cart_shows_positions_and_totals_a_new_quantity_and_removal_after_confirmation(
    customer_page: Page, products: Products
):
    page, kettle, coffee_maker = customer_page, products.kettle.name, products.coffee_maker.name
    put_in_cart(page, products.kettle.id, 2)
    put_in_cart(page, products.coffee_maker.id, 1)
    page.get_by_role("navigation").get_by_role("link", name="Моя корзина").click()
    expect(page.get_by_role("heading", name="Моя корзина")).to_be_visible()
    kettle_row = page.get_by_role("row", name=kettle)
    expect(kettle_row).to_contain_text("2 499,00\u00a0₽")
    expect(kettle_row).to_contain_text("4 998,00\u00a0₽")
    expect(page.get_by_test_id("cart-total")).to_have_text("9 988,00\u00a0₽")
    expect(page.get_by_text("не больше 20 разных товаров — сейчас 2 из 20")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/cart-desktop.png", full_page=True)

    page.get_by_label(f"Количество: {kettle}").fill("3")
    page.get_by_role("button", name="Сохранить количество").click()
    expect(page.get_by_role("status")).to_have_text("Количество сохранено.")
    expect(page.get_by_test_id("cart-total")).to_have_text("12 487,00\u00a0₽")

    page.get_by_role("link", name=f"Удалить {coffee_maker} из корзины").click()
    expect(
        page.get_by_role("heading", name=f"Удалить «{coffee_maker}» из корзины?")
    ).to_be_visible()
    page.get_by_role("link", name="Нет, вернуться в корзину").click()
    expect(page.get_by_role("row", name=coffee_maker)).to_be_visible()

    page.get_by_role("link", name=f"Удалить {coffee_maker} из корзины").focus()
    page.keyboard.press("Enter")  # no mouse needed
    page.get_by_role("button", name="Да, удалить").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Товар удалён из корзины.")
    expect(page.get_by_role("row", name=coffee_maker)).to_have_count(0)
    expect(page.get_by_test_id("cart-total")).to_have_text("7 497,00\u00a0₽")

    page.get_by_role("link", name=f"Удалить {kettle} из корзины").click()
    page.get_by_role("button", name="Да, удалить").click()
    expect(page.get_by_text("Ваша корзина пуста.")).to_be_visible()
    page.get_by_role("link", name="Перейти в каталог").click()
    expect(page).to_have_url(re.compile(r"/search"))


def test_a_cart_changed_in_another_tab_is_read_again_and_says_so(
    customer_page: Page, products: Products
):
    page, kettle, coffee_maker = customer_page, products.kettle.name, products.coffee_maker.name
    put_in_cart(page, products.kettle.id, 1)
    page.goto("/cart")
    other = page.context.new_page()
    put_in_cart(other, products.coffee_maker.id, 1)
    other.close()
    page.get_by_label(f"Количество: {kettle}").fill("4")
    page.get_by_role("button", name="Сохранить количество").click()
    expect(page.get_by_role("status")).to_contain_text("Корзина изменилась")
    expect(page.get_by_role("row", name=coffee_maker)).to_be_visible()
    expect(page.get_by_label(f"Количество: {kettle}")).to_have_value("1")


def test_pickup_enables_pay_once_a_point_is_chosen_and_leads_to_payment_awaiting_it(
    customer_page: Page, products: Products
):
    page = customer_page
    put_in_cart(page, products.kettle.id, 1)
    page.goto("/cart")
    page.get_by_role("link", name="Оформить заказ").click()
    expect(page.get_by_label("Номер телефона")).not_to_have_value("")  # from the profile
    pay = page.get_by_role("button", name="Оплатить заказ")
    expect(pay).to_be_disabled()
    page.get_by_label("Забрать товар на пункте выдачи").check()
    expect(page.get_by_label("Адрес доставки")).to_be_hidden()
    expect(pay).to_be_disabled()
    page.locator("input[name=pointId]").first.check()
    expect(pay).to_be_enabled()
    page.screenshot(path=f"{SHOTS}/checkout-pickup-desktop.png", full_page=True)
    pay.click()
    page.wait_for_url(PAY_URL)
    page.goto(f"/orders/{order_id_from_url(page)}")
    expect(page.get_by_test_id("order-status")).to_have_text("Ожидает оплаты")
    expect(page.get_by_role("link", name="Оплатить заказ")).to_be_visible()


def test_courier_shows_the_cost_whose_checkbox_enables_pay(customer_page: Page, products: Products):
    page = customer_page
    put_in_cart(page, products.coffee_maker.id, 1)
    page.goto("/checkout")
    page.get_by_label("Доставка курьером").check()
    expect(page.get_by_label("Пункт выдачи", exact=False).first).to_be_hidden()
    page.get_by_label("Адрес доставки").fill("Москва, Тверская ул., 1, кв. 5")
    page.get_by_label("Курьерская компания").select_option(index=1)
    expect(page.get_by_text("Стоимость доставки:")).to_contain_text("₽")
    confirm = page.get_by_label("подтвердить стоимость доставки")
    pay = page.get_by_role("button", name="Оплатить заказ")
    expect(pay).to_be_disabled()
    confirm.check()
    expect(pay).to_be_enabled()
    page.screenshot(path=f"{SHOTS}/checkout-courier-desktop.png", full_page=True)
    pay.click()
    page.wait_for_url(PAY_URL)
    page.goto(f"/orders/{order_id_from_url(page)}")
    expect(page.get_by_test_id("order-status")).to_have_text("Ожидает оплаты")
    expect(page.get_by_text("Москва, Тверская ул., 1, кв. 5")).to_be_visible()


def test_a_wrong_phone_is_shown_beside_the_field_and_the_typed_values_are_kept(
    customer_page: Page, products: Products
):
    page = customer_page
    put_in_cart(page, products.kettle.id, 1)
    page.goto("/checkout")
    page.get_by_label("Номер телефона").fill("12")
    page.get_by_label("Доставка курьером").check()
    page.get_by_label("Адрес доставки").fill("Казань, ул. Баумана, 10")
    page.get_by_label("Курьерская компания").select_option(index=1)
    page.get_by_label("подтвердить стоимость доставки").check()
    page.get_by_role("button", name="Оплатить заказ").click()
    expect(page.get_by_role("alert")).to_contain_text("Введите телефон")
    expect(
        page.locator(".field-error").filter(has=page.get_by_label("Номер телефона"))
    ).to_contain_text("от 10 до 15 цифр")
    expect(page.get_by_label("Номер телефона")).to_have_value("12")
    expect(page.get_by_label("Доставка курьером")).to_be_checked()
    expect(page.get_by_label("Адрес доставки")).to_have_value("Казань, ул. Баумана, 10")
    page.screenshot(path=f"{SHOTS}/checkout-error-desktop.png", full_page=True)


def test_stock_that_ran_short_says_the_order_failed_with_a_way_back(
    customer_page: Page, shop: ShopSystem
):
    page = customer_page
    last_one = shop.add_product("Тостер последний", 150_000, {"msk-1": 1})
    put_in_cart(page, last_one, 2)
    page.goto("/checkout")
    page.get_by_label("Забрать товар на пункте выдачи").check()
    page.locator("input[name=pointId]").first.check()
    page.get_by_role("button", name="Оплатить заказ").click()
    expect(
        page.get_by_role("heading", name="Заказ не оформлен: товара не хватает на складе")
    ).to_be_visible()
    page.get_by_role("link", name="Посмотреть этот заказ").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Не оформлен")
    page.get_by_role("navigation").get_by_role("link", name="Моя корзина").click()
    expect(page.get_by_text("Ваша корзина пуста.")).to_be_visible()


def test_on_a_phone_the_cart_and_checkout_fit_the_screen(
    browser: Browser,
    browser_context_args: dict[str, Any],
    customer: Account,
    products: Products,
):
    page = log_in(new_phone_page(browser, browser_context_args), customer)
    put_in_cart(page, products.kettle.id, 1)
    page.goto("/cart")
    expect(page.get_by_test_id("cart-total")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=f"{SHOTS}/cart-phone.png", full_page=True)
    page.goto("/checkout")
    page.get_by_label("Доставка курьером").check()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=f"{SHOTS}/checkout-phone.png", full_page=True)
    page.context.close()


def test_without_javascript_the_server_asks_for_the_cost_and_its_confirmation(
    browser: Browser,
    browser_context_args: dict[str, Any],
    customer: Account,
    products: Products,
):
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    page = log_in(context.new_page(), customer)
    put_in_cart(page, products.kettle.id, 1)
    page.goto("/checkout")
    page.get_by_label("Доставка курьером").check()
    page.get_by_label("Адрес доставки").fill("Тула, пр. Ленина, 5")
    page.get_by_label("Курьерская компания").select_option(index=1)
    page.get_by_role("button", name="Рассчитать стоимость доставки").click()
    expect(page.get_by_text("Стоимость доставки:")).to_contain_text("₽")
    page.get_by_role("button", name="Оплатить заказ").click()
    expect(page.get_by_role("alert")).to_contain_text("Отметьте «подтвердить стоимость доставки»")
    expect(page.get_by_label("Адрес доставки")).to_have_value("Тула, пр. Ленина, 5")
    page.get_by_role("button", name="Рассчитать стоимость доставки").click()
    page.get_by_label("подтвердить стоимость доставки").check()
    page.get_by_role("button", name="Оплатить заказ").click()
    page.wait_for_url(PAY_URL)
    context.close()
