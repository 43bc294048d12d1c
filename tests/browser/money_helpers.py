"""Helpers of the money pages' browser tests: an order awaiting payment made through the
edges with the browser's own session (the checkout pages have their own tests), and the
payment form filled as a person fills it."""

from __future__ import annotations

import uuid
from typing import Any

from playwright._impl._api_structures import SetCookieParam
from playwright.sync_api import APIRequestContext, Page, expect

from tests.browser.system import ShopSystem

GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


def session_header(page: Page) -> dict[str, str]:
    """The browser's `sessionId` (set by web_front's login) for calling the edges directly."""
    found = [c for c in page.context.cookies() if c["name"] == "sessionId"]
    assert found, "the page is not logged in"
    return {"Cookie": f"sessionId={found[0]['value']}"}


def edge(api: APIRequestContext, page: Page, method: str, url: str, **body: Any) -> Any:
    headers = {**session_header(page), "Idempotency-Key": str(uuid.uuid4())}
    answer = api.fetch(url, method=method, data=body or None, headers=headers)
    assert answer.ok, answer.text()
    return answer.json()


def awaiting_order(shop: ShopSystem, api: APIRequestContext, page: Page, product_id: int) -> str:
    """A goods order of one product checked out for pickup: AWAITING_PAYMENT."""
    order_url, delivery_url = shop.url_of("order_svc"), shop.url_of("delivery_svc")
    items = [{"product": {"id": product_id}, "quantity": 1}]
    order = edge(api, page, "POST", f"{order_url}/place", id=str(uuid.uuid4()), orderItems=items)
    points = edge(api, page, "GET", f"{delivery_url}/pickup-points")
    order = edge(
        api,
        page,
        "PUT",
        f"{order_url}/checkout",
        id=order["id"],
        version=order["version"],
        phone="+79991234567",
        delivery={"type": "pickup", "pointId": points["items"][0]["id"]},
    )
    assert order["status"] == "AWAITING_PAYMENT", order
    return str(order["id"])


def fill_new_card(page: Page, number: str, save: bool = False) -> None:
    page.get_by_label("Другая карта").check()
    page.get_by_label("Номер карты").fill(number)
    page.get_by_label("Срок действия (ММ/ГГ)").fill("12/30")
    page.get_by_label("CVC").fill("123")
    if save:
        page.get_by_label("Сохранить карту").check()


def expect_paid(page: Page) -> None:
    expect(page.get_by_text("Оплачено", exact=True)).to_be_visible()


def share_session(source: Page, target: Page) -> None:
    """`target` (another context, e.g. a phone-sized one) logged in as `source` is."""
    cookies: list[SetCookieParam] = [
        {"name": c["name"], "value": c["value"], "domain": c["domain"], "path": c["path"]}
        for c in source.context.cookies()
    ]
    target.context.add_cookies(cookies)
