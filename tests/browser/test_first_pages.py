"""The first pages as a person uses them (001 §1 scenarios 1-3): register, log in and out,
search, a product, "Добавить в корзину"; the pictures, a phone and a desktop screen, and the
protections every form and page has. web_front trusts one proxy in front of it (as behind a
TLS proxy: the shared system's SHARED_ENV), so a test names its visitor's address in
X-Forwarded-For as that proxy would."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import APIRequestContext, Browser, Page, expect

from tests.browser.conftest import PHONE, Products, log_in, new_phone_page
from tests.browser.system import Account, ShopSystem, new_account

SHOTS = "/tmp/shots"
WRONG_PASSWORD = "not-the-password-1"


def fill_registration(page: Page, account: Account, phone: str | None = None) -> None:
    page.get_by_label("Имя пользователя (логин)").fill(account.username)
    page.get_by_label("Имя", exact=True).fill(account.first_name)
    page.get_by_label("Фамилия").fill("Петрова")
    page.get_by_label("Пароль").fill(account.password)
    page.get_by_label("E-mail").fill(account.email)
    page.get_by_label("Номер телефона").fill(phone or account.phone)


def test_the_register_button_is_disabled_until_the_form_is_filled_and_the_password_is_masked(
    page: Page,
):
    page.goto("/")
    page.get_by_role("link", name="Зарегистрироваться").click()
    button = page.get_by_role("button", name="Зарегистрироваться")
    expect(button).to_be_disabled()
    expect(page.get_by_label("Пароль")).to_have_attribute("type", "password")
    account = new_account()
    fill_registration(page, account)
    page.get_by_label("Фамилия").fill("")
    expect(button).to_be_disabled()
    page.get_by_label("Фамилия").fill("Петрова")
    expect(button).to_be_enabled()


def test_a_wrong_phone_is_shown_beside_the_field_and_everything_typed_is_kept(page: Page):
    account = new_account()
    page.goto("/register")
    fill_registration(page, account, phone="12")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_role("alert")).to_contain_text("Введите телефон")
    expect(page.locator("#error-phone")).to_contain_text("от 10 до 15 цифр")
    expect(page.get_by_label("Имя пользователя (логин)")).to_have_value(account.username)
    expect(page.get_by_label("E-mail")).to_have_value(account.email)
    expect(page.get_by_label("Номер телефона")).to_have_value("12")
    page.screenshot(path=f"{SHOTS}/register-error-desktop.png", full_page=True)
    page.get_by_role("link", name=re.compile("Введите телефон")).click()
    expect(page.get_by_label("Номер телефона")).to_be_focused()


def test_registering_shows_the_result_page_and_the_new_customer_is_logged_in(page: Page):
    account = new_account()
    page.goto("/register")
    fill_registration(page, account)
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_role("heading", name="Регистрация завершена")).to_be_visible()
    expect(page.get_by_text(account.email)).to_be_visible()
    expect(page.get_by_role("link", name="Моя корзина")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/registered-desktop.png", full_page=True)


def test_login_with_a_wrong_password_says_so_and_logout_makes_a_guest_again(
    page: Page, customer: Account
):
    page.goto("/login")
    page.get_by_label("Имя пользователя").fill(customer.username)
    page.get_by_label("Пароль").fill("not-the-password-1")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("alert")).to_contain_text("Неверное имя пользователя или пароль")
    expect(page.get_by_label("Имя пользователя")).to_have_value(customer.username)
    log_in(page, customer)
    expect(page.get_by_role("link", name="Личный кабинет")).to_be_visible()
    expect(page.get_by_role("link", name="Админка")).to_have_count(0)
    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_role("link", name="Войти")).to_be_visible()
    expect(page.get_by_role("link", name="Моя корзина")).to_have_count(0)


def test_search_shows_cards_with_price_discount_availability_and_a_picture(
    page: Page, products: Products
):
    query = products.query("чайник")
    page.goto("/")
    page.get_by_role("searchbox", name="Поиск товаров").fill(query)
    page.get_by_role("searchbox", name="Поиск товаров").press("Enter")
    expect(page.get_by_role("heading", name=f"Результаты поиска «{query}»")).to_be_visible()
    card = page.get_by_role("listitem").filter(has_text=products.kettle.name)
    expect(card.get_by_text("2 499,00 ₽")).to_be_visible()
    expect(card.get_by_text("В наличии: 8 шт.")).to_be_visible()
    expect(card.get_by_text("Склад spb-1: 3 шт.")).to_be_visible()
    expect(page.get_by_text("Кофеварка капельная")).to_have_count(0)
    image = card.locator("img")
    expect(image).to_have_attribute("src", f"/images/products/{products.kettle.id}.svg")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path=f"{SHOTS}/search-desktop.png", full_page=True)


def test_a_customer_may_log_in_by_email_and_an_admin_sees_the_admin_link(
    page: Page, customer: Account, admin_page: Page
):
    log_in(page, Account(customer.email, customer.password, "", "", ""))
    expect(page.get_by_role("link", name="Мои заказы")).to_be_visible()
    expect(page.get_by_role("link", name="Админка")).to_have_count(0)
    expect(admin_page.get_by_role("link", name="Админка")).to_be_visible()


def test_a_product_picture_is_an_svg_drawn_from_its_name(page: Page, products: Products):
    answer = page.request.get(f"/images/products/{products.coffee_maker.id}.svg")
    assert answer.ok and answer.headers["content-type"].startswith("image/svg+xml")
    assert products.coffee_maker.name in answer.text()
    assert page.request.get("/images/products/999999999.svg").ok  # unknown: still a picture


def test_a_guest_adding_to_the_cart_logs_in_first_then_the_cart_is_created_and_grows(
    page: Page,
    products: Products,
    customer: Account,
    shop: ShopSystem,
    api: APIRequestContext,
):
    coffee_maker = products.coffee_maker.name
    page.goto(f"/search?q={products.query('кофеварка')}")
    page.get_by_role("link", name=coffee_maker).click()
    expect(page.get_by_role("heading", name=coffee_maker)).to_be_visible()
    page.get_by_role("button", name="Добавить в корзину").click()
    expect(page.get_by_role("heading", name="Вход")).to_be_visible()
    page.get_by_label("Имя пользователя").fill(customer.username)
    page.get_by_label("Пароль").fill(customer.password)
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("heading", name=coffee_maker)).to_be_visible()
    page.get_by_label("Количество").fill("2")
    page.get_by_role("button", name="Добавить в корзину").click()
    expect(page.get_by_role("status")).to_contain_text("Товар добавлен в корзину (2 шт.)")
    page.get_by_role("button", name="Добавить в корзину").click()
    expect(page.get_by_role("status")).to_contain_text("(1 шт.)")
    cart = only_new_order(page, shop)
    assert [(i["product"]["id"], i["quantity"]) for i in cart["orderItems"]] == [
        (products.coffee_maker.id, 3)
    ]


def only_new_order(page: Page, shop: ShopSystem) -> dict[str, Any]:
    """The customer's orders as order_svc tells them, with the browser's own session."""
    session = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionId")
    answer = page.request.get(
        f"{shop.url_of('order_svc')}/orders", headers={"Cookie": f"sessionId={session}"}
    )
    orders = answer.json()["items"]
    assert [o["status"] for o in orders] == ["NEW"]
    order: dict[str, Any] = orders[0]
    return order


def test_a_wrong_quantity_is_explained_beside_the_field(customer_page: Page, products: Products):
    customer_page.goto(f"/products/{products.kettle.id}")
    customer_page.get_by_label("Количество").fill("0")
    customer_page.get_by_role("button", name="Добавить в корзину").click()
    expect(customer_page.locator("#error-quantity")).to_have_text("Укажите количество от 1 до 1000")
    expect(customer_page.get_by_label("Количество")).to_have_value("0")


def test_on_a_phone_the_search_and_menu_fit_the_screen(
    browser: Browser, browser_context_args: dict[str, Any], products: Products
):
    page = new_phone_page(browser, browser_context_args)
    page.goto("/")
    expect(page.get_by_role("searchbox", name="Поиск товаров")).to_be_visible()
    expect(page.get_by_role("link", name="Зарегистрироваться")).to_be_in_viewport()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    page.screenshot(path=f"{SHOTS}/home-phone.png", full_page=True)
    page.goto(f"/products/{products.kettle.id}")
    expect(page.get_by_role("button", name="Добавить в корзину")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=f"{SHOTS}/product-phone.png", full_page=True)
    page.goto("/register")
    page.screenshot(path=f"{SHOTS}/register-phone.png", full_page=True)
    page.context.close()


def test_on_a_desktop_the_cards_stand_in_a_row(page: Page, products: Products):
    page.goto("/")
    cards = page.locator(".card")
    expect(cards.first).to_be_visible()
    boxes = [cards.nth(i).bounding_box() for i in range(min(2, cards.count()))]
    assert len(boxes) == 2 and boxes[0] and boxes[1] and boxes[0]["y"] == boxes[1]["y"]
    page.screenshot(path=f"{SHOTS}/home-desktop.png", full_page=True)
    page.goto(f"/products/{products.kettle.id}")
    page.screenshot(path=f"{SHOTS}/product-desktop.png", full_page=True)
    page.goto("/register")
    page.screenshot(path=f"{SHOTS}/register-desktop.png", full_page=True)


def test_a_form_sent_without_its_csrf_token_is_refused_with_a_page_and_changes_nothing(
    page: Page, customer: Account
):
    page.goto("/login")
    answer = page.request.post(
        "/login",
        form={"username": customer.username, "password": customer.password},
        headers={"Origin": page.url.split("/login")[0]},
        max_redirects=0,
    )
    assert answer.status == 403
    assert "Форма устарела" in answer.text()
    assert not [c for c in page.context.cookies() if c["name"] == "sessionId"]


def test_a_form_from_another_site_is_refused_even_with_a_token(page: Page, customer: Account):
    page.goto("/login")
    token = page.locator("input[name=csrf]").first.input_value()
    answer = page.request.post(
        "/login",
        form={"username": customer.username, "password": customer.password, "csrf": token},
        headers={"Origin": "http://evil.example"},
        max_redirects=0,
    )
    assert answer.status == 403


def test_every_page_carries_the_security_headers(page: Page):
    answer = page.goto("/")
    assert answer is not None
    headers = answer.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_an_unknown_page_is_a_russian_404_with_a_way_back(page: Page):
    answer = page.goto("/products/987654321")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", name="Страница не найдена")).to_be_visible()
    expect(page.get_by_role("link", name="На главную")).to_be_visible()


def test_a_service_that_is_down_gives_a_russian_page_whose_retry_works_once_it_is_back(
    page: Page, shop: ShopSystem, products: Products
):
    with shop.down("store_svc"):
        answer = page.goto(f"/search?q={products.query('чайник')}")
        assert answer is not None and answer.status == 503
        expect(page.get_by_role("heading", name="Сервис временно недоступен")).to_be_visible()
        expect(page.get_by_text("Traceback")).to_have_count(0)
    page.get_by_role("link", name="Повторить").click()
    expect(page.get_by_role("link", name=products.kettle.name)).to_be_visible()


def visitor_at(browser: Browser, browser_context_args: dict[str, Any], address: str) -> Page:
    """A visitor the proxy in front of web_front saw at `address`."""
    headers = {"X-Forwarded-For": address}
    return browser.new_context(**browser_context_args, extra_http_headers=headers).new_page()


def try_login(page: Page, account: Account, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Имя пользователя").fill(account.username)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()


def test_failed_logins_through_the_pages_slow_down_their_visitor_but_not_another_visitor(
    browser: Browser, browser_context_args: dict[str, Any], customer: Account
):
    guesser = visitor_at(browser, browser_context_args, "198.51.100.7")
    owner = visitor_at(browser, browser_context_args, "203.0.113.9")
    try:
        for _ in range(5):
            try_login(guesser, customer, WRONG_PASSWORD)
            expect(guesser.get_by_role("alert")).to_contain_text("Неверное имя пользователя")
        try_login(guesser, customer, customer.password)
        expect(guesser.get_by_role("alert")).to_contain_text("Слишком много попыток")
        log_in(owner, customer)
    finally:
        guesser.context.close()
        owner.context.close()


def test_a_forwarded_address_sent_straight_to_auth_counts_against_the_real_sender(
    browser: Browser,
    browser_context_args: dict[str, Any],
    shop: ShopSystem,
    api: APIRequestContext,
    customer: Account,
):
    auth = shop.url_of("auth_svc")
    named = "192.0.2.44"
    for i in range(5):
        forged = {"X-Forwarded-For": f"198.51.100.{i + 20}"}
        guess = {"username": customer.username, "password": WRONG_PASSWORD}
        assert api.post(f"{auth}/login", data=guess, headers=forged).status == 401
    creds = {"username": customer.username, "password": customer.password}
    answer = api.post(f"{auth}/login", data=creds, headers={"X-Forwarded-For": named})
    assert answer.status == 429, "the forged addresses were believed"
    visitor = visitor_at(browser, browser_context_args, named)
    try:
        log_in(visitor, customer)  # through web_front, the visitor it names is believed
    finally:
        visitor.context.close()
