"""The admin pages in a real Chromium: only admins reach them; orders filter by status; the
saga's timeline of a confirmed and of a compensated order; a status change (and the 409 of a
stale page); a partial refund; blocking and unblocking a user; setting a warehouse's stock."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import APIRequestContext, Browser, Page, ViewportSize, expect

from tests.browser.admin_setup import SagaOrders, make_saga_orders
from tests.browser.conftest import DESKTOP, PHONE, Products, log_in, register_account
from tests.browser.system import Account, ShopSystem, new_account

SHOTS = Path("/tmp/shots/admin")


@pytest.fixture(scope="module")
def saga_orders(shop: ShopSystem, admin: Account) -> SagaOrders:
    lamp = shop.add_product("Лампа настольная", 150_000, {"msk-1": 10})
    return make_saga_orders(shop, admin, lamp)


def open_order(page: Page, order: dict[str, Any]) -> Page:
    page.goto(f"/admin/orders/{order['id']}")
    expect(page.get_by_role("heading", name=re.compile(f"Заказ {order['id'][:8]}"))).to_be_visible()
    return page


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", (1280, 800)), ("phone", (PHONE["width"], PHONE["height"]))):
        page.set_viewport_size(ViewportSize(width=size[0], height=size[1]))
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(ViewportSize(width=DESKTOP["width"], height=DESKTOP["height"]))


def test_an_admin_sees_adminka_and_a_customer_neither_sees_it_nor_gets_in(
    admin_page: Page, customer_page: Page
) -> None:
    admin_page.get_by_role("link", name="Админка").click()
    expect(admin_page.get_by_role("heading", name="Заказы")).to_be_visible()
    expect(customer_page.get_by_role("link", name="Админка")).to_have_count(0)
    for path in ("/admin", "/admin/users", "/admin/stock"):
        answer = customer_page.goto(path)
        assert answer is not None and answer.status == 403
        expect(
            customer_page.get_by_role("heading", name="Доступ только для администраторов")
        ).to_be_visible()


def test_a_guest_opening_the_admin_is_sent_to_log_in(page: Page) -> None:
    page.goto("/admin/users")
    expect(page).to_have_url(re.compile(r"/login\?next=/admin/users"))


def test_the_orders_list_shows_only_the_orders_of_the_chosen_status(
    admin_page: Page, saga_orders: SagaOrders
) -> None:
    confirmed, cancelled = saga_orders.confirmed["id"][:8], saga_orders.compensated["id"][:8]
    admin_page.goto("/admin")
    admin_page.get_by_label("Покупатель (имя пользователя)").fill(saga_orders.customer)
    admin_page.get_by_label("Статус").select_option(label="Отменён")
    admin_page.get_by_role("button", name="Показать заказы").click()
    expect(admin_page.get_by_role("link", name=cancelled)).to_be_visible()
    expect(admin_page.get_by_role("link", name=confirmed)).to_have_count(0)
    admin_page.get_by_label("Статус").select_option(label="Подтверждён")
    admin_page.get_by_role("button", name="Показать заказы").click()
    expect(admin_page.get_by_role("link", name=confirmed)).to_be_visible()
    expect(admin_page.get_by_role("link", name=cancelled)).to_have_count(0)
    expect(admin_page.get_by_label("Статус")).to_have_value("CONFIRMED")  # the filter is kept


def test_a_confirmed_orders_saga_shows_every_participant_confirming(
    admin_page: Page, saga_orders: SagaOrders
) -> None:
    page = open_order(admin_page, saga_orders.confirmed)
    saga = page.get_by_role("region", name="Сага заказа")
    expect(saga.get_by_text("Состояние саги: Подтверждена")).to_be_visible()
    for name in ("Оплата", "Склад", "Доставка"):
        expect(saga.get_by_role("heading", name=f"{name}: подтверждено")).to_be_visible()
    timeline = saga.get_by_role("list", name="Хронология саги")
    expect(timeline.get_by_text("Сага начата")).to_be_visible()
    expect(timeline.get_by_text("Все участники подтвердили: заказ подтверждён")).to_be_visible()
    expect(
        page.get_by_role("region", name="История статусов").get_by_text("Подтверждён")
    ).to_be_visible()


def test_a_compensated_orders_saga_shows_the_reversal_and_its_reason(
    admin_page: Page, saga_orders: SagaOrders
) -> None:
    page = open_order(admin_page, saga_orders.compensated)
    saga = page.get_by_role("region", name="Сага заказа")
    expect(saga.get_by_text("Состояние саги: Отменена (компенсирована)")).to_be_visible()
    expect(saga.get_by_role("note")).to_have_text(
        "Причина компенсации: Нет ответа вовремя: доставка"
    )
    expect(saga).not_to_contain_text("no answer in time")
    for name in ("Оплата", "Склад", "Доставка"):
        expect(saga.get_by_role("heading", name=f"{name}: отменено (компенсация)")).to_be_visible()
    timeline = saga.get_by_role("list", name="Хронология саги")
    expect(
        timeline.get_by_text(re.compile("Началась компенсация.*Нет ответа вовремя: доставка"))
    ).to_be_visible()
    expect(timeline.get_by_text("Компенсация завершена: заказ отменён")).to_be_visible()
    expect(
        page.get_by_text("Статус платежа").locator("xpath=following-sibling::dd[1]")
    ).to_have_text("Возвращён")
    shoot(page, "order-compensated")


def test_an_admin_moves_a_confirmed_order_on_and_a_stale_page_is_told_why_not(
    admin_page: Page, saga_orders: SagaOrders
) -> None:
    order = saga_orders.confirmed
    stale = open_order(admin_page.context.new_page(), order)
    page = open_order(admin_page, order)
    offered = page.get_by_label("Новый статус").locator("option")
    expect(offered).to_have_text(["Собирается", "Готов к выдаче", "Доставляется"])
    page.get_by_label("Новый статус").select_option(label="Собирается")
    page.get_by_label("Комментарий (необязательно)").fill("передан на склад")
    page.get_by_role("button", name="Изменить статус").click()
    expect(page.get_by_role("status")).to_have_text("Статус заказа изменён: Собирается")
    expect(page.get_by_role("region", name="История статусов")).to_contain_text("передан на склад")
    # a second move, then the other tab, still drawn for CONFIRMED, asks for one that the
    # order in READY_FOR_PICKUP no longer allows
    page.get_by_label("Новый статус").select_option(label="Готов к выдаче")
    page.get_by_role("button", name="Изменить статус").click()
    expect(page.get_by_role("status")).to_have_text("Статус заказа изменён: Готов к выдаче")
    stale.get_by_label("Новый статус").select_option(label="Доставляется")
    stale.get_by_role("button", name="Изменить статус").click()
    expect(stale.get_by_text(re.compile("Заказ нельзя перевести в этот статус"))).to_have_count(2)
    # the page is drawn again for the order as it is now: only its one move left is offered
    expect(stale.get_by_label("Новый статус").locator("option")).to_have_text(["Выполнен"])
    stale.close()


def test_a_partial_refund_shows_on_the_orders_payment(
    admin_page: Page, saga_orders: SagaOrders
) -> None:
    page = open_order(admin_page, saga_orders.confirmed)
    page.get_by_label("Сумма возврата, ₽").fill("5 000")
    page.get_by_label("Причина возврата").fill("   ")  # blanks pass the browser's check only
    page.get_by_role("button", name="Вернуть деньги").click()
    expect(page.locator("#error-reason")).to_have_text("Напишите причину возврата")
    expect(page.get_by_label("Сумма возврата, ₽")).to_have_value("5 000")  # kept as typed
    page.get_by_label("Причина возврата").fill("царапина на корпусе")
    page.get_by_role("button", name="Вернуть деньги").click()
    expect(page.locator("#error-amount")).to_contain_text("Сумма больше")
    page.get_by_label("Сумма возврата, ₽").fill("150,50")
    page.get_by_role("button", name="Вернуть деньги").click()
    expect(page.get_by_role("status")).to_contain_text("Возврат 150,50\u00a0₽ оформлен")
    refunded = page.get_by_text("Возвращено").locator("xpath=following-sibling::dd[1]")
    for _ in range(100):  # the refund reaches the bank a moment later: the admin reloads
        if refunded.inner_text() == "150,50\u00a0₽":
            break
        page.reload()
    expect(refunded).to_have_text("150,50\u00a0₽")
    shoot(page, "order-confirmed")


def test_a_blocked_user_can_no_longer_log_in_until_unblocked(
    admin_page: Page, browser: Browser, browser_context_args: dict[str, Any], customer: Account
) -> None:
    admin_page.goto("/admin/users")
    admin_page.get_by_label("Имя, e-mail или телефон").fill(customer.email)
    admin_page.get_by_role("button", name="Найти пользователей").click()
    admin_page.get_by_role("link", name=f"Заблокировать {customer.username}").click()
    expect(
        admin_page.get_by_text(f"Заблокировать пользователя {customer.username}?")
    ).to_be_visible()
    admin_page.get_by_role("button", name="Заблокировать").click()
    expect(admin_page.get_by_role("status")).to_have_text(
        f"Пользователь {customer.username} заблокирован"
    )
    expect(admin_page.get_by_role("row", name=re.compile(customer.username))).to_contain_text(
        "Заблокирован"
    )
    shoot(admin_page, "users")

    person = browser.new_context(**browser_context_args).new_page()
    person.goto("/login")
    person.get_by_label("Имя пользователя").fill(customer.username)
    person.get_by_label("Пароль").fill(customer.password)
    person.get_by_role("button", name="Войти").click()
    expect(person.get_by_role("alert")).to_contain_text("заблокирована")

    admin_page.get_by_role("link", name=f"Разблокировать {customer.username}").click()
    admin_page.get_by_role("button", name="Разблокировать").click()
    expect(admin_page.get_by_role("status")).to_have_text(
        f"Пользователь {customer.username} разблокирован"
    )
    log_in(person, customer)
    person.context.close()


def test_an_admin_makes_another_user_an_admin_who_then_sees_adminka(
    admin_page: Page,
    browser: Browser,
    browser_context_args: dict[str, Any],
    shop: ShopSystem,
    api: APIRequestContext,
) -> None:
    helper = register_account(shop, api, new_account("helper"))
    admin_page.goto(f"/admin/users?who={helper.username}")
    admin_page.get_by_role("link", name=f"Сделать администратором {helper.username}").click()
    admin_page.get_by_role("button", name="Сделать администратором").click()
    expect(admin_page.get_by_role("row", name=re.compile(helper.username))).to_contain_text(
        "администратор"
    )
    person = log_in(browser.new_context(**browser_context_args).new_page(), helper)
    expect(person.get_by_role("link", name="Админка")).to_be_visible()
    person.context.close()


def test_setting_a_warehouses_stock_shows_the_new_count_on_the_product_page(
    admin_page: Page, products: Products
) -> None:
    kettle = products.kettle
    admin_page.goto("/admin/stock")
    admin_page.get_by_label("Название товара").fill(kettle.name)
    admin_page.get_by_role("button", name="Найти товар").click()
    admin_page.get_by_role("link", name=kettle.name).click()
    expect(admin_page.get_by_role("row", name=re.compile("spb-1"))).to_be_visible()
    admin_page.get_by_label("Склад", exact=True).fill("spb-1")
    admin_page.get_by_label("Штук на складе").fill("2000000")  # over the limit
    admin_page.get_by_role("button", name="Сохранить количество").click()
    expect(admin_page.locator("#error-onHand")).to_contain_text("целым числом")
    expect(admin_page.get_by_label("Склад", exact=True)).to_have_value("spb-1")
    admin_page.get_by_label("Штук на складе").fill("17")
    admin_page.get_by_role("button", name="Сохранить количество").click()
    expect(admin_page.get_by_role("status")).to_have_text("На складе spb-1 теперь 17 шт.")
    shoot(admin_page, "stock")
    admin_page.goto(f"/products/{kettle.id}")
    expect(admin_page.get_by_text("Склад spb-1: 17 шт.")).to_be_visible()
