"""Browser tests: a real Chromium (Debian's, `make test` installs it) drives the shop started
as `make up` starts it — one whole system shared by the modules (a module that needs other
settings has its own, after the others). Fixtures for page authors: `shop` (the system),
`products` (the module's own two products with stock), `customer` (a registered account),
`customer_page` (a page logged in as that customer), `admin` and `admin_page`. A module leaves
the shared system as it found it (a process it kills is started again, a simulator it sets is
set back) and finds what it asserts by its own products, accounts and orders, never by a count
or a name another module could change."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import APIRequestContext, Browser, Page, Playwright, expect

from tests.browser.system import SHARED_ENV, Account, ShopSystem, ShopSystems, new_account

CHROMIUM = os.environ.get("SAGASHOP_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1280, "height": 900}

# a person waits a few seconds for a page; the whole system on 2 cores sometimes needs more
expect.set_options(timeout=15_000)


def in_browser_suite(item: pytest.Item) -> bool:
    return f"{os.sep}tests{os.sep}browser{os.sep}" in str(item.path)


def browser_place(item: pytest.Item) -> int:
    """0: not a browser test, 1: on the shared system, 2: on its module's own (the module
    defines `shop`)."""
    if not in_browser_suite(item):
        return 0
    return 2 if hasattr(getattr(item, "module", None), "shop") else 1


@pytest.hookimpl(trylast=True)  # after pytest's own reordering by fixture parameters
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps its own event loop marked as
    running until the session ends, and the asyncio tests after it could not run theirs.
    pytest groups the tests that share a session-scoped parameter (pytest-playwright's
    `browser_name`, which a test with an argument named `page` gets too) and would move the
    browser tests next to such a test. Among them, the modules with a system of their own
    come after those on the shared one: the shared system starts once, and no system idles
    beside another."""
    items.sort(key=browser_place)  # stable: every other test keeps its order
    if not os.access(CHROMIUM, os.X_OK):
        skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}: `make test` installs it")
        for item in filter(in_browser_suite, items):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # the machine's network is closed: Chromium's own background calls only slow it down
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="package")  # thrown away after the last browser test: idle, it still costs
def shop_systems() -> Iterator[ShopSystems]:
    running = ShopSystems()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def shop(shop_systems: ShopSystems) -> ShopSystem:
    """The shared system; its simulators keep confirmed orders still (a module whose tests
    follow orders to their end has its own: test_fulfilment)."""
    return shop_systems.acquire(SHARED_ENV)


@pytest.fixture
def browser_context_args(shop: ShopSystem) -> dict[str, Any]:
    return {"base_url": shop.web_url, "locale": "ru-RU", "viewport": DESKTOP}


@dataclass(frozen=True)
class Product:
    id: int
    name: str


@dataclass(frozen=True)
class Products:
    """The module's own products: each name ends with the module's tag, a word found by
    search (`query`) that no other module's products have."""

    tag: str
    kettle: Product  # 2 499,00 ₽; msk-1: 5, spb-1: 3
    coffee_maker: Product  # 4 990,00 ₽; msk-1: 2

    def query(self, word: str) -> str:
        """A search for `word` among this module's products only."""
        return f"{word} {self.tag}"


@pytest.fixture(scope="module")
def products(shop: ShopSystem) -> Products:
    """Two products in stock (one of them in two warehouses), the module's own."""
    tag = f"m{uuid.uuid4().hex[:6]}"
    kettle, coffee_maker = f"Чайник электрический {tag}", f"Кофеварка капельная {tag}"
    return Products(
        tag,
        Product(
            shop.add_product(kettle, 249_900, {"msk-1": 5, "spb-1": 3}, "Чайник на 1,7 литра"),
            kettle,
        ),
        Product(shop.add_product(coffee_maker, 499_000, {"msk-1": 2}), coffee_maker),
    )


@pytest.fixture(scope="module")
def api(playwright: Playwright) -> Iterator[APIRequestContext]:
    context = playwright.request.new_context()
    yield context
    context.dispose()


def register_account(shop: ShopSystem, api: APIRequestContext, account: Account) -> Account:
    """An account made through auth's edge (the register page has its own tests)."""
    answer = api.post(
        f"{shop.url_of('auth_svc')}/register",
        data={
            "username": account.username,
            "password": account.password,
            "firstName": account.first_name,
            "lastName": "Иванова",
            "email": account.email,
            "phone": account.phone,
        },
    )
    assert answer.ok, answer.text()
    return account


def log_in(page: Page, account: Account) -> Page:
    """Log in through the login page, as a person does."""
    page.goto("/login")
    page.get_by_label("Имя пользователя").fill(account.username)
    page.get_by_label("Пароль").fill(account.password)
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("button", name="Выйти")).to_be_visible()
    return page


@pytest.fixture
def customer(shop: ShopSystem, api: APIRequestContext) -> Account:
    return register_account(shop, api, new_account())


@pytest.fixture
def customer_page(page: Page, customer: Account) -> Page:
    return log_in(page, customer)


@pytest.fixture(scope="module")
def admin(shop: ShopSystem) -> Account:
    return shop.create_admin()


@pytest.fixture
def admin_page(
    browser: Browser, browser_context_args: dict[str, Any], admin: Account
) -> Iterator[Page]:
    """A second browser context logged in as the admin (next to a customer's `page`)."""
    context = browser.new_context(**browser_context_args)
    yield log_in(context.new_page(), admin)
    context.close()


def new_phone_page(browser: Browser, browser_context_args: dict[str, Any]) -> Page:
    context = browser.new_context(**{**browser_context_args, "viewport": PHONE})
    return context.new_page()
