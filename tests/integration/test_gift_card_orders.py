"""Gift-card orders in order_svc, run as its own process on the real broker and database beside
auth_svc and store_svc (for a customer's cart): created awaiting payment, paid by payment's
event, issued by billing's answer, refunded and never issued when cancelled first.

payment_svc and billing_svc are played by publishing their messages on their real topics."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from launcher.processes import ServiceProcess
from schemas import topics
from tests.support.gift_card_orders import (
    GIFT,
    issued,
    on_topic,
    order_gift_card,
    order_of,
    paid,
    reaches,
)
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.kafka import read_topic
from tests.support.services import running
from tests.support.store import card_of, feed_product, logged_in, product, unique_id


@pytest.fixture(scope="module")
async def store(infra: Infra, auth: ServiceProcess) -> AsyncIterator[ServiceProcess]:
    async with running(infra, "store_svc", SAGASHOP_AUTH_URL=auth.url) as proc:
        yield proc


@pytest.fixture(scope="module")
async def order_svc(
    infra: Infra, auth: ServiceProcess, store: ServiceProcess
) -> AsyncIterator[ServiceProcess]:
    env = {
        "SAGASHOP_AUTH_URL": auth.url,
        "SAGASHOP_STORE_URL": store.url,
        "SAGASHOP_PAYMENT_TIMEOUT_SECONDS": "600",
    }
    async with running(infra, "order_svc", **env) as proc:
        yield proc


@pytest.fixture
async def buyer(auth: ServiceProcess, order_svc: ServiceProcess) -> AsyncIterator[Client]:
    client, _ = await logged_in(auth, order_svc.url)
    yield client
    await client.close()


async def test_bad_gift_card_orders_are_refused_with_a_message_and_create_nothing(buyer: Client):
    bad_bodies = [
        {**GIFT, "amount": 49_999},
        {**GIFT, "amount": 5_000_001},
        {**GIFT, "amount": 300_000.0},
        {**GIFT, "doneeEmail": "not-an-address"},
        {**GIFT, "design": "skulls"},
        {"doneeName": "Иван", "amount": 300_000},
    ]
    for body in bad_bodies:
        status, answer = await buyer.post("/gift-card-orders", body)
        assert status == 400, (body, answer)
        assert answer["errorMessage"]
    assert (await buyer.get("/orders"))[1]["total"] == 0


async def test_a_gift_card_order_awaits_payment_for_its_amount_beside_the_untouched_cart(
    infra: Infra, store: ServiceProcess, buyer: Client
):
    bike = unique_id()
    await feed_product(infra.kafka_bootstrap, product(bike, "Велосипед", cost=10_000, tax=2_000))
    catalog = Client(store.url)
    await card_of(catalog, bike)
    await catalog.close()
    status, cart = await buyer.post(
        "/place", {"orderItems": [{"product": {"id": bike}, "quantity": 1}]}
    )
    assert status == 200, cart

    order = await order_gift_card(buyer, design="flowers")

    assert (order["kind"], order["status"], order["total"]) == (
        "GIFT_CARD",
        "AWAITING_PAYMENT",
        300_000,
    )
    assert order["giftCard"] == {**GIFT, "design": "flowers"}
    assert order["expiresAt"] and [h["status"] for h in order["history"]] == ["AWAITING_PAYMENT"]
    assert await order_of(buyer, order["id"]) == order
    untouched = await order_of(buyer, cart["id"])
    kept = ("status", "version", "orderItems", "total", "kind")
    assert [untouched[k] for k in kept] == [cart[k] for k in kept]
    assert untouched["status"] == "NEW"
    listed = {o["id"]: o for o in (await buyer.get("/orders"))[1]["items"]}
    assert listed.keys() == {cart["id"], order["id"]}
    assert (listed[order["id"]]["kind"], listed[cart["id"]]["kind"]) == ("GIFT_CARD", "GOODS")


async def test_the_same_idempotency_key_answers_the_same_gift_card_order(buyer: Client):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await buyer.post("/gift-card-orders", GIFT, headers=key)
    again = await buyer.post("/gift-card-orders", GIFT, headers=key)
    assert first == again and first[0] == 200
    assert (await buyer.get("/orders"))[1]["total"] == 1


async def test_a_paid_gift_card_order_asks_billing_for_its_card_and_its_issue_completes_it(
    infra: Infra, buyer: Client
):
    order = await order_gift_card(buyer, design="birthday")
    payment_id = await paid(infra, order)
    assert (await reaches(buyer, order["id"], "PAID"))["paymentId"] == payment_id

    [ask] = await on_topic(infra, topics.GIFT_CARD_ISSUES, order["id"])
    assert ask["paymentId"] == payment_id and ask["amount"] == 300_000
    assert (ask["doneeName"], ask["doneeEmail"], ask["design"]) == (
        "Иван",
        GIFT["doneeEmail"],
        "birthday",
    )
    assert ask["buyer"] == (await order_of(buyer, order["id"]))["username"]

    first = await issued(infra, order, payment_id, "GC-0001")
    done = await reaches(buyer, order["id"], "COMPLETED")
    assert done["giftCard"]["giftCardNumber"] == "GC-0001"
    assert [(h["status"], h["by"]) for h in done["history"][1:]] == [
        ("PAID", "payment_svc"),
        ("COMPLETED", "billing_svc"),
    ]

    # the same message again, and billing saying it twice: behind them on the same partition,
    # another order's card, so once that one is completed both were handled
    marker = await order_gift_card(buyer)
    marker_payment = await paid(infra, marker)
    await reaches(buyer, marker["id"], "PAID")
    await issued(infra, order, payment_id, "GC-0001", message_id=first)
    await issued(infra, order, payment_id, "GC-9999")
    await issued(infra, marker, marker_payment, "GC-0002", key=order["id"])
    await reaches(buyer, marker["id"], "COMPLETED")
    assert await order_of(buyer, order["id"]) == done


async def test_a_card_issued_before_the_payment_event_completes_the_order_once(
    infra: Infra, buyer: Client
):
    order = await order_gift_card(buyer)
    await issued(infra, order, "pay-early", "GC-0003")
    done = await reaches(buyer, order["id"], "COMPLETED")
    assert done["paymentId"] == "pay-early"
    assert [h["status"] for h in done["history"]] == ["AWAITING_PAYMENT", "PAID", "COMPLETED"]

    status, answer = await buyer.put("/cancel", {"id": order["id"], "version": done["version"]})
    assert status == 409 and "COMPLETED to CANCELLED" in answer["errorMessage"]


async def test_a_payment_for_a_gift_card_order_cancelled_before_is_refunded_and_issues_no_card(
    infra: Infra, buyer: Client
):
    order = await order_gift_card(buyer)
    status, cancelled = await buyer.put("/cancel", {"id": order["id"], "version": order["version"]})
    assert status == 200 and cancelled["status"] == "CANCELLED"

    payment_id = await paid(infra, order)
    [reverse] = await on_topic(infra, topics.PAYMENT_CONFIRMATIONS, order["id"])
    assert (reverse["requestType"], reverse["paymentId"]) == ("REVERSE", payment_id)

    # the relay publishes in order: once a later order's issue request is out, one for the
    # cancelled order would be out too
    later = await order_gift_card(buyer)
    await paid(infra, later)
    await on_topic(infra, topics.GIFT_CARD_ISSUES, later["id"])
    issues = await read_topic(infra.kafka_bootstrap, topics.GIFT_CARD_ISSUES.name, 10**9, 0.5)
    assert not [r for r in issues if r.key == order["id"].encode()]
    assert (await order_of(buyer, order["id"]))["status"] == "CANCELLED"


async def test_a_paid_gift_card_order_can_no_longer_be_cancelled_its_card_is_on_its_way(
    infra: Infra, buyer: Client
):
    order = await order_gift_card(buyer)
    await paid(infra, order)
    before = await reaches(buyer, order["id"], "PAID")

    status, body = await buyer.put("/cancel", {"id": order["id"], "version": before["version"]})
    assert status == 409 and "from PAID to CANCELLED" in body["errorMessage"]
    assert (await order_of(buyer, order["id"]))["status"] == "PAID"
    reverses = await read_topic(
        infra.kafka_bootstrap, topics.PAYMENT_CONFIRMATIONS.name, 10**9, 0.5
    )
    assert not [r for r in reverses if r.key == order["id"].encode()]


async def test_a_gift_card_order_cannot_be_adjusted_checked_out_or_processed(
    infra: Infra, buyer: Client
):
    order = await order_gift_card(buyer)
    ref = {"id": order["id"], "version": order["version"]}
    item = {"orderItems": [{"product": {"id": 1}, "quantity": 1}]}
    delivery = {"phone": "+79991234567", "delivery": {"type": "pickup", "pointId": 1}}
    for method, path, body, action in [
        ("PUT", "/adjust", {**ref, **item}, "adjusted"),
        ("PUT", "/checkout", {**ref, **delivery}, "checked out"),
        ("PUT", "/process", ref, "processed"),
    ]:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        status, answer = await buyer.call(method, path, body, headers=headers)
        assert status == 409, (path, answer)
        assert f"a gift-card order cannot be {action}" in answer["errorMessage"]

    await paid(infra, order)
    paid_order = await reaches(buyer, order["id"], "PAID")
    status, answer = await buyer.put(
        "/process", {"id": order["id"], "version": paid_order["version"]}
    )
    assert status == 409 and "cannot be processed" in answer["errorMessage"]
    assert (await order_of(buyer, order["id"]))["version"] == paid_order["version"]
