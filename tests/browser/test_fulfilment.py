"""An order's life after payment in a real Chromium, with the warehouse, carrier and pickup
point simulators running fast (a step a second): a paid order followed to its receipt on its
own page; a confirmed order cancelled by its customer and refunded; an admin starting the
picking, seen by the customer (and a stale cancel refused beside its button); a delivered
order's return accepted by an admin (and found by status and date); an order being picked
cancelled by an admin, its picking and delivery cases undone, the customer refunded."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import APIRequestContext, Browser, Page, expect

from tests.browser.money_helpers import (
    GOOD_CARD,
    awaiting_order,
    expect_paid,
    fill_new_card,
    share_session,
)
from tests.browser.system import FAST_FULFILMENT, Account, ShopSystem, ShopSystems

SHOTS = "/tmp/shots/fulfilment"
MOSCOW = ZoneInfo("Europe/Moscow")
LAMP_PRICE = "3\u00a0500,00\u00a0₽"
# paid -> saga -> three warehouse steps -> transit -> collection: seconds each, on 2 busy cores
WHOLE_LIFE_MS = 120_000
# the admin's dates are Moscow's
TODAY = datetime.now(MOSCOW).date().isoformat()
TOMORROW = (datetime.now(MOSCOW).date() + timedelta(days=1)).isoformat()


@pytest.fixture(scope="module")
def shop(shop_systems: ShopSystems) -> ShopSystem:
    """A system of its own, after the shared one (which is thrown away): its simulators run a
    step a second from the start, while the shared system's stand still (the admin pages' tests
    move a confirmed order by hand) and the orders the other modules leave confirmed there
    would go through the same warehouse staff, carriers and pickup points first."""
    return shop_systems.acquire(FAST_FULFILMENT)


@pytest.fixture(scope="module")
def lamp(shop: ShopSystem) -> int:
    return shop.add_product("Торшер напольный", 350_000, {"msk-1": 30})


def paid_in_browser(shop: ShopSystem, api: APIRequestContext, page: Page, product: int) -> str:
    """An order checked out for pickup (over the edges) and paid by card on its page."""
    order_id = awaiting_order(shop, api, page, product)
    page.goto(f"/pay/{order_id}")
    fill_new_card(page, GOOD_CARD)
    page.get_by_role("button", name="Оплатить").click()
    expect_paid(page)
    return order_id


def path_step(page: Page, status: str) -> Any:
    return page.get_by_role("list", name="Путь заказа").locator(f'li[data-status="{status}"]')


def test_a_paid_order_left_alone_shows_each_step_up_to_its_receipt_without_a_reload(
    shop: ShopSystem, api: APIRequestContext, customer_page: Page, lamp: int
) -> None:
    page = customer_page
    order_id = paid_in_browser(shop, api, page, lamp)
    page.goto(f"/orders/{order_id}")
    page.evaluate("window.sameVisit = true")  # gone if the page were loaded again
    status = page.get_by_test_id("order-status")
    expect(status).to_have_text("Выполнен", timeout=WHOLE_LIFE_MS)
    for step, words in (
        ("PAID", "Оплачен"),
        ("CONFIRMED", "Подтверждён"),
        ("ASSEMBLING", "Собирается на складе"),
        ("READY_FOR_PICKUP", "Ждёт в пункте выдачи"),
        ("COMPLETED", "Получен"),
    ):
        expect(path_step(page, step)).to_have_class("path-done")
        expect(path_step(page, step)).to_contain_text(re.compile(rf"{words}\s+\d\d\.\d\d\.\d{{4}}"))
    expect(page.get_by_test_id("case-status")).to_have_text("Получен")
    expect(page.get_by_text("страница обновляется сама")).to_have_count(0)
    expect(page.get_by_role("button", name="Отменить заказ")).to_have_count(0)
    assert page.evaluate("window.sameVisit === true"), "the page was reloaded"
    page.screenshot(path=f"{SHOTS}/completed-desktop.png", full_page=True)


def test_a_customer_cancels_a_confirmed_order_and_sees_it_cancelled_with_the_money_back(
    shop: ShopSystem, api: APIRequestContext, customer_page: Page, lamp: int
) -> None:
    page = customer_page
    with shop.warehouse_paused():  # nobody starts picking: the order stays CONFIRMED
        order_id = paid_in_browser(shop, api, page, lamp)
        page.goto(f"/orders/{order_id}")
        expect(page.get_by_test_id("order-status")).to_have_text("Подтверждён", timeout=60_000)
        page.get_by_role("button", name="Отменить заказ").click()
        expect(page.get_by_role("status")).to_contain_text("Заявка на отмену принята")
        expect(page.get_by_test_id("order-status")).to_have_text("Отменён", timeout=60_000)
    expect(page.get_by_test_id("payment")).to_contain_text(
        f"возвращено {LAMP_PRICE}", timeout=30_000
    )
    ended = path_step(page, "CANCELLED")
    expect(ended).to_have_class("path-ended")
    expect(ended).to_contain_text("Отменён")
    expect(path_step(page, "ASSEMBLING")).to_have_count(0)  # it never got that far
    page.screenshot(path=f"{SHOTS}/cancelled-desktop.png", full_page=True)


def test_an_admin_starting_the_picking_shows_on_the_customers_page_and_a_stale_cancel_is_refused(
    shop: ShopSystem, api: APIRequestContext, customer_page: Page, admin_page: Page,
    admin: Account, browser: Browser, browser_context_args: dict[str, Any], lamp: int,
) -> None:  # fmt: skip
    page = customer_page
    with shop.warehouse_paused():
        order_id = paid_in_browser(shop, api, page, lamp)
        page.goto(f"/orders/{order_id}")
        expect(page.get_by_test_id("order-status")).to_have_text("Подтверждён", timeout=60_000)
        # the same customer in a browser without JavaScript: the page stays as loaded
        still = browser.new_context(**browser_context_args, java_script_enabled=False)
        stale = still.new_page()
        share_session(page, stale)
        stale.goto(f"/orders/{order_id}")
        expect(stale.get_by_role("button", name="Отменить заказ")).to_be_visible()

        admin_page.goto("/admin")
        admin_page.get_by_role("link", name="Сборка заказов").click()
        admin_page.get_by_role("button", name=f"Начать сборку: заказ {order_id[:8]}").click()
        expect(admin_page.get_by_role("status")).to_have_text(
            f"Сборка начата: заказ {order_id[:8]}"
        )
        expect(page.get_by_test_id("order-status")).to_have_text("Собирается")  # no reload
        expect(path_step(page, "ASSEMBLING")).to_have_attribute("aria-current", "step")
        expect(page.get_by_role("button", name="Отменить заказ")).to_have_count(0)

        stale.get_by_role("button", name="Отменить заказ").click()
        refused = stale.locator("#cancel-problem")
        expect(refused).to_contain_text("отменить его уже нельзя, его статус — «Собирается».")
        expect(stale.get_by_test_id("order-status")).to_have_text("Собирается")
        still.close()

        admin_page.goto(f"/admin/warehouse/{order_id}")
        history = admin_page.get_by_role("list", name="История сборки")
        expect(history).to_contain_text("Собирается")
        expect(history).to_contain_text(re.compile(r"Собирается — \d\d\.\d\d\.\d{4} \d\d:\d\d,"))
        expect(history).to_contain_text(admin.username)


def test_an_admin_accepts_the_return_of_a_received_order_and_sees_it_returned(
    shop: ShopSystem, api: APIRequestContext, customer_page: Page, admin_page: Page, lamp: int
) -> None:
    page = customer_page
    order_id = paid_in_browser(shop, api, page, lamp)
    page.goto(f"/orders/{order_id}")
    expect(page.get_by_test_id("order-status")).to_have_text("Выполнен", timeout=WHOLE_LIFE_MS)

    admin = admin_page
    admin.goto(f"/admin/orders/{order_id}")
    admin.get_by_role("button", name="Принять возврат").click()
    expect(admin.locator("#error-returnReason")).to_have_text(
        "Напишите, почему покупатель вернул заказ"
    )
    admin.get_by_label("Почему покупатель вернул заказ").fill("не подошёл размер")
    admin.get_by_label("Вернуть товар на склад").check()
    admin.get_by_role("button", name="Принять возврат").click()
    expect(admin.get_by_role("status")).to_contain_text("Возврат принят")
    status = admin.get_by_test_id("order-status")
    for _ in range(30):  # orchestra refunds a moment later: the admin reloads now and then
        try:
            expect(status).to_have_text("Возвращён", timeout=2_000)
            break
        except AssertionError:
            admin.reload()
    expect(status).to_have_text("Возвращён")
    actions = admin.get_by_role("list", name="Действия администраторов")
    expect(actions).to_contain_text("принял возврат (товар на склад): не подошёл размер")
    expect(actions).to_contain_text(re.compile(r"^\s*\d\d\.\d\d\.\d{4} \d\d:\d\d — "))
    timeline = admin.get_by_role("list", name="Хронология саги")
    expect(timeline).to_contain_text(
        "Компенсация завершена: заказ возвращён, товар возвращён на склад"
    )
    expect(timeline).not_to_contain_text("заказ отменён")
    expect(admin.get_by_role("button", name="Принять возврат")).to_have_count(0)
    admin.screenshot(path=f"{SHOTS}/returned-admin-desktop.png", full_page=True)

    admin.goto("/admin")
    admin.get_by_label("Статус").select_option(label="Возвращён")
    admin.get_by_label("Созданы с (дата)").fill(TODAY)
    admin.get_by_label("по (дата, включительно)").fill(TODAY)
    admin.get_by_role("button", name="Показать заказы").click()
    expect(admin.get_by_role("link", name=order_id[:8])).to_be_visible()
    admin.get_by_label("Созданы с (дата)").fill(TOMORROW)
    admin.get_by_label("по (дата, включительно)").fill("")
    admin.get_by_role("button", name="Показать заказы").click()
    expect(admin.get_by_role("link", name=order_id[:8])).to_have_count(0)

    page.reload()  # a completed order's page no longer follows it
    expect(page.get_by_test_id("order-status")).to_have_text("Возвращён")
    expect(page.get_by_test_id("payment")).to_contain_text(
        f"возвращено {LAMP_PRICE}", timeout=30_000
    )


def test_an_admin_cancels_an_order_being_picked_and_everyone_sees_it_cancelled_with_the_reason(
    shop: ShopSystem, api: APIRequestContext, customer_page: Page, admin_page: Page, lamp: int
) -> None:
    page = customer_page
    with shop.warehouse_paused():
        order_id = paid_in_browser(shop, api, page, lamp)
        page.goto(f"/orders/{order_id}")
        expect(page.get_by_test_id("order-status")).to_have_text("Подтверждён", timeout=60_000)
        admin = admin_page
        admin.goto(f"/admin/warehouse/{order_id}")
        admin.get_by_role("button", name="Начать сборку").click()
        expect(admin.get_by_test_id("picking-status")).to_have_text("Собирается")
        admin.get_by_role("link", name="Заказ", exact=True).click()
        admin.get_by_role("button", name="Отменить заказ").click()
        expect(admin.locator("#error-cancelReason")).to_contain_text("Напишите причину отмены")
        admin.get_by_label("Причина отмены").fill("нет в наличии нужного цвета")
        admin.get_by_role("button", name="Отменить заказ").click()
        expect(admin.get_by_role("status")).to_contain_text("Отмена оформляется")
        status = admin.get_by_test_id("order-status")
        for _ in range(30):  # orchestra undoes it a moment later: the admin reloads
            try:
                expect(status).to_have_text("Отменён", timeout=2_000)
                break
            except AssertionError:
                admin.reload()
        expect(status).to_have_text("Отменён")
        expect(admin.get_by_test_id("picking-status")).to_have_text("Отменён")
        expect(admin.get_by_test_id("delivery-status")).to_have_text("Отменена")
        actions = admin.get_by_role("list", name="Действия администраторов")
        expect(actions).to_contain_text("отменил заказ: нет в наличии нужного цвета")

    expect(page.get_by_test_id("order-status")).to_have_text("Отменён")  # followed, no reload
    ended = path_step(page, "CANCELLED")
    expect(ended).to_contain_text("Причина: нет в наличии нужного цвета")
    expect(path_step(page, "ASSEMBLING")).to_have_class("path-done")
    expect(page.get_by_test_id("payment")).to_contain_text(f"возвращено {LAMP_PRICE}")
