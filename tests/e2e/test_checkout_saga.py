"""The customer's whole path over HTTP on the running system: search, cart, checkout with
pickup or courier, pay, hand over, and the saga's verdict — or its compensation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.e2e.conftest import System
from trials.shoppers.shopper import DECLINED_CARD, FINAL, EdgeError, Shopper

NewShopper = Callable[[], Awaitable[Shopper]]


@pytest.fixture
async def shoppers(system: System) -> AsyncIterator[NewShopper]:
    """Registered, logged-in customers; all closed at the end of the test."""
    made: list[Shopper] = []

    async def new() -> Shopper:
        s = await Shopper(system.urls).__aenter__()
        made.append(s)
        await s.register()
        return s

    yield new
    for s in made:
        await s.__aexit__()


async def test_search_cart_checkout_pay_and_the_saga_confirms_the_order(
    system: System, shoppers: NewShopper
):
    word = f"велосипед{uuid.uuid4().hex[:6]}"
    bike = await system.add_product(f"Горный {word}", 50_000, {"msk-1": 3, "spb-1": 2})
    bell = await system.add_product(f"Звонок для {word}", 900, {"msk-1": 10})
    s = await shoppers()
    found = [p["id"] for p in await s.search(word)]
    assert set(found) == {bike, bell}

    order = await s.place(bike)
    assert order["status"] == "NEW" and order["total"] == 50_000
    order = await s.adjust(order, bell, 2)
    assert [i["product"]["id"] for i in order["orderItems"]] == [bike, bell]
    order = await s.checkout(order, "pickup")
    assert order["status"] == "AWAITING_PAYMENT" and order["total"] == 51_800

    payment = await s.pay(order)
    assert payment["status"] == "SUCCEEDED", payment
    # order_svc hands the paid order to the saga by itself (no `PUT /process`)
    order = await s.wait_status(order["id"], FINAL, timeout=30)
    assert order["status"] == "CONFIRMED", order
    assert [h["status"] for h in order["history"]] == [
        "NEW",
        "AWAITING_PAYMENT",
        "PAID",
        "IN_PROGRESS",
        "CONFIRMED",
    ]
    stock = await s.call("store_svc", "GET", f"/stocks/{bike}")
    assert stock == {"count": 4}
    case = await s.call("delivery_svc", "GET", f"/cases/{order['id']}")
    assert case["status"] == "OPENED"


async def test_courier_delivery_adds_the_accepted_quote_to_the_total(
    system: System, shoppers: NewShopper
):
    lamp = await system.add_product(f"Lamp {uuid.uuid4().hex[:6]}", 2_000, {"msk-1": 5})
    s = await shoppers()
    order = await s.checkout(await s.place(lamp), "courier")
    assert order["deliveryCost"] > 0
    assert order["total"] == 2_000 + order["deliveryCost"]
    assert order["delivery"]["type"] == "courier"


async def test_a_declined_card_leaves_the_order_payable_and_a_second_card_pays_it(
    system: System, shoppers: NewShopper
):
    mug = await system.add_product(f"Mug {uuid.uuid4().hex[:6]}", 700, {"msk-1": 5})
    s = await shoppers()
    order = await s.checkout(await s.place(mug))
    declined = await s.pay(order, DECLINED_CARD)
    assert declined["status"] == "FAILED" and declined["errorMessage"]
    await asyncio.sleep(0.5)
    order = await s.order(order["id"])
    assert order["status"] == "AWAITING_PAYMENT" and order["paymentErrorMessage"]
    assert (await s.pay(order))["status"] == "SUCCEEDED"
    assert (await s.wait_paid(order["id"])).get("paymentErrorMessage") is None


async def test_checking_out_more_than_the_stock_fails_the_order_with_the_reason(
    system: System, shoppers: NewShopper
):
    rare = await system.add_product(f"Rare {uuid.uuid4().hex[:6]}", 9_000, {"msk-1": 1})
    s = await shoppers()
    order = await s.place(rare, quantity=2)
    order = await s.checkout(order)
    assert order["status"] == "FAILED" and "stock" in order["reason"]
    assert await s.call("store_svc", "GET", f"/stocks/{rare}") == {"count": 1}


async def test_cancelling_an_unpaid_order_gives_its_stock_back(
    system: System, shoppers: NewShopper
):
    tent = await system.add_product(f"Tent {uuid.uuid4().hex[:6]}", 30_000, {"msk-1": 2})
    s = await shoppers()
    order = await s.checkout(await s.place(tent, quantity=2))
    assert await s.call("store_svc", "GET", f"/stocks/{tent}") == {"count": 0}
    assert (await s.cancel(order))["status"] == "CANCELLED"

    async def back() -> bool:
        return await s.call("store_svc", "GET", f"/stocks/{tent}") == {"count": 2}

    from tests.support.kafka import eventually

    await eventually(back, timeout=20)


async def test_an_order_left_unpaid_is_cancelled_when_its_payment_time_runs_out(
    system: System, shoppers: NewShopper
):
    kettle = await system.add_product(f"Kettle {uuid.uuid4().hex[:6]}", 3_000, {"msk-1": 1})
    s = await shoppers()
    order = await s.checkout(await s.place(kettle))
    order = await s.wait_status(order["id"], {"CANCELLED"}, timeout=40)
    assert order["reason"] == "payment timeout"


async def test_nobody_else_sees_my_order_and_guests_are_refused(
    system: System, shoppers: NewShopper
):
    pen = await system.add_product(f"Pen {uuid.uuid4().hex[:6]}", 100, {"msk-1": 5})
    me, other = await shoppers(), await shoppers()
    order = await me.place(pen)
    with pytest.raises(EdgeError) as seen:
        await other.order(order["id"])
    assert seen.value.status == 404
    async with Shopper(system.urls) as guest:
        with pytest.raises(EdgeError) as refused:
            await guest.place(pen)
        assert refused.value.status == 401
        assert await guest.search("Pen")  # guests may browse


async def test_a_silent_participant_makes_the_saga_cancel_the_order_and_refund_it(
    system: System, shoppers: NewShopper
):
    chair = await system.add_product(f"Chair {uuid.uuid4().hex[:6]}", 12_000, {"msk-1": 1})
    s = await shoppers()
    order = await s.checkout(await s.place(chair))
    delivery = system.stack.procs["delivery_svc"]
    system.stack.expected_down.add("delivery_svc")
    delivery.kill()
    try:
        await s.pay(order)  # the paid order goes to the saga at once
        await asyncio.sleep(8)  # past the saga deadline (6 s) with delivery silent
        assert (await s.order(order["id"]))["status"] == "IN_PROGRESS"
    finally:
        delivery.start()
        system.stack.expected_down.discard("delivery_svc")
    order = await s.wait_status(order["id"], FINAL, timeout=60)
    assert order["status"] == "CANCELLED" and "DELIVERY" in order["reason"]
    payment = await s.call("payment_svc", "GET", f"/payments/{order['paymentId']}")
    assert payment["status"] == "REFUNDED"
    assert await s.call("store_svc", "GET", f"/stocks/{chair}") == {"count": 1}
