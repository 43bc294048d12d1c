"""Issue 15 item 1, stock and slot hoarding, against real processes (auth_svc, store_svc,
delivery_svc and order_svc on the real broker and database): a customer's own
`POST /reservations` or `POST /slots` with a made-up order id is refused and takes nothing
(only order_svc's checkout holds, with its holds credential), a customer's orders awaiting
payment are capped (gift cards, which hold nothing, aside), and one order holds at most a
bounded number of units of a product."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from launcher.processes import ServiceProcess
from tests.conftest import start_service
from tests.support.gift_card_orders import order_gift_card
from tests.support.holds import HOLDS_ENV
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.store import (
    card_of,
    feed_product,
    feed_stock,
    logged_in,
    product,
    stock_count,
    unique_id,
)

POINT = 2
UNPAID_CAP = 3
UNITS_CAP = 10


@dataclass
class Shop:
    store: ServiceProcess
    delivery: ServiceProcess
    order: ServiceProcess


@pytest.fixture(scope="module")
async def shop(infra: Infra, auth: ServiceProcess) -> AsyncIterator[Shop]:
    logs = Path(tempfile.mkdtemp())
    env = {"SAGASHOP_AUTH_URL": auth.url, **HOLDS_ENV}
    store = start_service(infra, "store_svc", logs, env=env)
    delivery = start_service(infra, "delivery_svc", logs, env=env)
    order = start_service(
        infra,
        "order_svc",
        logs,
        env={
            **env,
            "SAGASHOP_STORE_URL": store.url,
            "SAGASHOP_DELIVERY_URL": delivery.url,
            "SAGASHOP_MAX_UNPAID_ORDERS": str(UNPAID_CAP),
            "SAGASHOP_MAX_UNITS_PER_PRODUCT": str(UNITS_CAP),
        },
    )
    try:
        await asyncio.gather(store.wait_ready(), delivery.wait_ready(), order.wait_ready())
        yield Shop(store, delivery, order)
    finally:
        for proc in (order, delivery, store):
            proc.kill()


@pytest.fixture
async def customer(auth: ServiceProcess, shop: Shop) -> AsyncIterator[Client]:
    """A logged-in customer; its session cookie goes to every service on 127.0.0.1."""
    client, _ = await logged_in(auth, shop.order.url)
    yield client
    await client.close()


async def stocked(infra: Infra, shop: Shop, on_hand: int) -> int:
    pid = unique_id()
    guest = Client(shop.store.url)
    try:
        await feed_product(infra.kafka_bootstrap, product(pid, f"Кружка {uuid.uuid4().hex[:6]}"))
        await card_of(guest, pid)
        await feed_stock(infra.kafka_bootstrap, pid, "msk", on_hand)
        await stock_count(guest, pid, on_hand)
    finally:
        await guest.close()
    return pid


class At:
    """The customer's client, its calls sent to another service."""

    def __init__(self, client: Client, proc: ServiceProcess) -> None:
        self.client, self.base = client, proc.url

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.client.get(path, base=self.base, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.client.post(path, json, base=self.base, **kw)


async def available(client: Client, shop: Shop, pid: int) -> int:
    status, body = await At(client, shop.store).get(f"/stocks/{pid}")
    assert status == 200, body
    return int(body["count"])


async def place(client: Client, pid: int, quantity: int = 1) -> dict[str, Any]:
    body = {"id": str(uuid.uuid4()), "orderItems": [{"product": {"id": pid}, "quantity": quantity}]}
    status, order = await client.post("/place", body)
    assert status == 200, order
    return dict(order)


async def checkout(client: Client, order: dict[str, Any]) -> tuple[int, Any]:
    body = {
        "id": order["id"],
        "version": order["version"],
        "phone": "+79161234567",
        "delivery": {"type": "pickup", "pointId": POINT},
    }
    return await client.put("/checkout", body, headers={"Idempotency-Key": str(uuid.uuid4())})


def refused(answer: tuple[int, Any], status: int) -> str:
    code, body = answer
    assert code == status, answer
    assert isinstance(body, dict) and body.get("errorMessage"), answer
    return str(body["errorMessage"])


async def test_a_customers_own_reservation_of_a_made_up_order_is_refused_and_takes_nothing(
    infra: Infra, shop: Shop, customer: Client
):
    pid = await stocked(infra, shop, on_hand=7)
    store = At(customer, shop.store)
    made_up = {"orderId": f"o-{uuid.uuid4().hex}", "items": [{"productId": pid, "quantity": 7}]}
    refused(await store.post("/reservations", made_up), 403)
    wrong = {"Authorization": "Bearer not-the-holds-token"}
    refused(await store.post("/reservations", made_up, headers=wrong), 403)
    assert (await store.get(f"/reservations/{made_up['orderId']}"))[0] == 404
    assert await available(customer, shop, pid) == 7


async def test_a_customers_own_slot_hold_of_a_made_up_order_is_refused_and_takes_nothing(
    shop: Shop, customer: Client
):
    delivery = At(customer, shop.delivery)
    made_up = {"orderId": f"o-{uuid.uuid4().hex}", "delivery": {"type": "pickup", "pointId": 1}}
    refused(await delivery.post("/slots", made_up), 403)
    wrong = {"Authorization": "Bearer not-the-holds-token"}
    refused(await delivery.post("/slots", made_up, headers=wrong), 403)
    assert (await delivery.get(f"/slots/{made_up['orderId']}"))[0] == 404


async def test_checkout_holds_the_orders_own_items_for_its_owner_through_order_svc(
    infra: Infra, shop: Shop, customer: Client
):
    pid = await stocked(infra, shop, on_hand=5)
    order = await place(customer, pid, quantity=2)
    status, checked_out = await checkout(customer, order)
    assert status == 200, checked_out
    assert checked_out["status"] == "AWAITING_PAYMENT"
    assert await available(customer, shop, pid) == 3
    status, held = await At(customer, shop.store).get(f"/reservations/{order['id']}")
    assert status == 200, held
    assert [(i["productId"], i["reservedQuantity"]) for i in held["items"]] == [(pid, 2)]
    status, slot = await At(customer, shop.delivery).get(f"/slots/{order['id']}")
    assert (status, slot["status"]) == (200, "HELD"), slot


async def test_a_fourth_unpaid_checkout_is_refused_clearly_and_holds_nothing(
    infra: Infra, shop: Shop, customer: Client
):
    pid = await stocked(infra, shop, on_hand=20)
    for _ in range(UNPAID_CAP):
        status, body = await checkout(customer, await place(customer, pid))
        assert (status, body["status"]) == (200, "AWAITING_PAYMENT"), body
    assert await available(customer, shop, pid) == 20 - UNPAID_CAP
    fourth = await place(customer, pid, quantity=2)
    message = refused(await checkout(customer, fourth), 409)
    assert "awaiting payment" in message
    assert await available(customer, shop, pid) == 20 - UNPAID_CAP
    assert (await At(customer, shop.store).get(f"/reservations/{fourth['id']}"))[0] == 404
    assert (await At(customer, shop.delivery).get(f"/slots/{fourth['id']}"))[0] == 404
    status, still = await customer.get("/get", params={"orderId": fourth["id"]})
    assert (status, still["status"]) == (200, "NEW"), still


async def test_an_order_of_more_units_of_one_product_than_the_cap_is_refused_at_checkout(
    infra: Infra, shop: Shop, customer: Client
):
    pid = await stocked(infra, shop, on_hand=30)
    greedy = await place(customer, pid, quantity=UNITS_CAP + 1)
    message = refused(await checkout(customer, greedy), 409)
    assert f"at most {UNITS_CAP} units" in message
    assert await available(customer, shop, pid) == 30
    assert (await At(customer, shop.store).get(f"/reservations/{greedy['id']}"))[0] == 404
    lowered = await customer.put(
        "/adjust",
        {
            "id": greedy["id"],
            "version": greedy["version"],
            "orderItems": [{"product": {"id": pid}, "quantity": UNITS_CAP}],
        },
    )
    assert lowered[0] == 200, lowered
    status, body = await checkout(customer, lowered[1])
    assert (status, body["status"]) == (200, "AWAITING_PAYMENT"), body
    assert await available(customer, shop, pid) == 30 - UNITS_CAP


async def test_gift_card_orders_awaiting_payment_do_not_count_against_the_unpaid_cap(
    infra: Infra, shop: Shop, customer: Client
):
    for _ in range(UNPAID_CAP):
        gift = await order_gift_card(customer)
        assert gift["status"] == "AWAITING_PAYMENT", gift
    pid = await stocked(infra, shop, on_hand=3)
    status, body = await checkout(customer, await place(customer, pid))
    assert (status, body["status"]) == (200, "AWAITING_PAYMENT"), body
