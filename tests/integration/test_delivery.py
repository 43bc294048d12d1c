"""delivery_svc as its own process on the real broker and database, with auth_svc for sessions:
pickup points and couriers for guests, quotes and slot holds for customers, capacity that holds
under concurrency, holds that expire, the saga's CONFIRM / REVERSE applied once, and the case an
admin drives on while the customer and order_svc hear about it."""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from launcher.processes import ServiceProcess
from schemas import topics
from tests.conftest import start_service
from tests.integration.test_auth_edge import registered
from tests.integration.test_auth_flows import create_admin, logged_in
from tests.support.holds import HOLDER, HOLDS_ENV
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.kafka import eventually, publish, read_topic

CAPACITY = 5  # places per window and pickup point in this module's delivery_svc
WINDOWS = 3  # a one-day horizon holds each of the three default windows once
MOSCOW = timezone(timedelta(hours=3))
ADDRESS = "Москва, ул. Ленина, д. 1"
# the orchestra tests send pickup point 1; these tests keep away from it
POINT_SAGA, POINT_REVERSE, POINT_DRIVE, POINT_CROWD, POINT_EXPIRY = 2, 3, 4, 5, 6


@dataclass
class Stack:
    auth: ServiceProcess
    delivery: ServiceProcess


@pytest.fixture(scope="module")
async def stack(infra: Infra) -> AsyncIterator[Stack]:
    logs = Path(tempfile.mkdtemp())
    auth = start_service(infra, "auth_svc", logs)
    delivery = start_service(
        infra,
        "delivery_svc",
        logs,
        env={
            "SAGASHOP_AUTH_URL": auth.url,
            **HOLDS_ENV,
            "SAGASHOP_PICKUP_SLOT_CAPACITY": str(CAPACITY),
            "SAGASHOP_COURIER_SLOT_CAPACITY": str(CAPACITY),
            "SAGASHOP_SLOT_HORIZON_DAYS": "1",
            "SAGASHOP_SLOT_LEAD_SECONDS": "0",
            "SAGASHOP_SWEEP_INTERVAL_SECONDS": "0.2",
        },
    )
    try:
        await asyncio.gather(auth.wait_ready(), delivery.wait_ready())
        yield Stack(auth, delivery)
    finally:
        delivery.kill()
        auth.kill()


async def session_client(stack: Stack, user: dict[str, str]) -> Client:
    """A client of delivery_svc carrying the user's `sessionId` from auth_svc."""
    at_auth = await logged_in(stack.auth, user)
    session = at_auth.cookie("sessionId")
    await at_auth.close()
    assert session
    client = Client(stack.delivery.url)
    client.set_cookie("sessionId", session)
    return client


async def new_customer(stack: Stack) -> tuple[Client, str]:
    at_auth = Client(stack.auth.url)
    user = await registered(at_auth)
    await at_auth.close()
    return await session_client(stack, user), user["username"]


@pytest.fixture(scope="module")
async def customer(stack: Stack) -> AsyncIterator[tuple[Client, str]]:
    client, username = await new_customer(stack)
    yield client, username
    await client.close()


@pytest.fixture(scope="module")
async def admin(stack: Stack, infra: Infra) -> AsyncIterator[Client]:
    client = await session_client(stack, create_admin(stack.auth, infra))
    yield client
    await client.close()


@pytest.fixture
async def guest(stack: Stack) -> AsyncIterator[Client]:
    client = Client(stack.delivery.url)
    yield client
    await client.close()


def new_order() -> str:
    return f"o-{uuid.uuid4().hex[:12]}"


def pickup(point: int) -> dict[str, Any]:
    return {"type": "pickup", "pointId": point}


async def courier_choice(client: Client, company: str = "cdek") -> dict[str, Any]:
    status, quote = await client.post("/quotes", {"address": ADDRESS, "courierCompany": company})
    assert status == 200, quote
    return {
        "type": "courier",
        "address": ADDRESS,
        "courierCompany": company,
        "quoteId": quote["quoteId"],
        "cost": quote["cost"],
    }


async def hold(client: Client, order_id: str, delivery: dict[str, Any]) -> tuple[int, Any]:
    return await client.post("/slots", {"orderId": order_id, "delivery": delivery}, headers=HOLDER)


def request(
    order_id: str, kind: str, username: str | None = None, delivery: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "orderId": order_id,
        "requestType": kind,
        "confirmator": "DELIVERY",
        "orderItems": [
            {"id": 1, "productId": 7, "productName": "Чайник", "productPrice": 2500, "quantity": 1}
        ],
    }
    if username:
        body["userName"] = username
    if delivery:
        body["delivery"] = delivery
    return body


async def send(infra: Infra, body: dict[str, Any], message_id: str | None = None) -> None:
    await publish(
        infra.kafka_bootstrap,
        topics.DELIVERY_CONFIRMATIONS.name,
        body,
        key=body["orderId"],
        message_id=message_id,
    )


async def messages_for(
    infra: Infra, topic: str, order_id: str, expect: int, timeout: float = 15
) -> list[dict[str, Any]]:
    """The order's messages on `topic` once at least `expect` are there."""

    async def found() -> list[dict[str, Any]] | None:
        records = await read_topic(infra.kafka_bootstrap, topic, expect=10**9, timeout=0.5)
        mine = [json.loads(r.value) for r in records if r.key == order_id.encode()]
        return mine if len(mine) >= expect else None

    result: list[dict[str, Any]] = await eventually(found, timeout=timeout)
    return result


async def replies(infra: Infra, order_id: str, expect: int) -> list[dict[str, Any]]:
    return await messages_for(infra, topics.CONFIRMATION_REPLIES.name, order_id, expect)


async def exactly(infra: Infra, topic: str, order_id: str, count: int) -> list[dict[str, Any]]:
    """`count` messages, and no more after a moment for a late extra one to show up."""
    await messages_for(infra, topic, order_id, count)
    await asyncio.sleep(1.0)
    found = await messages_for(infra, topic, order_id, count)
    assert len(found) == count, found
    return found


# -- choosing a delivery -----------------------------------------------------------------------
async def test_guests_see_the_pickup_points_and_the_courier_companies(guest: Client):
    status, points = await guest.get("/pickup-points")
    assert status == 200 and len(points["items"]) >= 5
    for point in points["items"]:
        assert isinstance(point["id"], int) and point["name"] and point["workingHours"]
        assert point["address"].startswith("Москва")
    status, couriers = await guest.get("/couriers")
    assert status == 200 and {"id": "cdek", "name": "СДЭК"} in couriers["items"]


async def test_a_quoted_cost_is_held_with_the_slot_and_the_same_order_gets_the_same_hold(
    customer: tuple[Client, str],
):
    client, _ = customer
    choice = await courier_choice(client)
    status, again = await client.post("/quotes", {"address": ADDRESS, "courierCompany": "cdek"})
    assert status == 200 and again["cost"] == choice["cost"] > 0 and again["currency"] == "RUB"
    far = {"address": ADDRESS + ", кв. 150, Зеленоград", "courierCompany": "cdek"}
    assert (await client.post("/quotes", far))[1]["cost"] > choice["cost"]

    order_id = new_order()
    status, held = await hold(client, order_id, choice)
    assert status == 200, held
    assert held["cost"] == choice["cost"] and held["status"] == "HELD"
    assert held["slotId"].startswith("courier-cdek/") and held["kind"] == "courier"
    expires = datetime.fromisoformat(held["expiresAt"])
    assert timedelta(seconds=890) < expires - datetime.now(UTC) <= timedelta(seconds=900)
    assert await hold(client, order_id, choice) == (200, held)
    assert await client.get(f"/slots/{order_id}") == (200, held)


async def test_a_cost_other_than_the_quoted_one_is_refused_with_422(customer: tuple[Client, str]):
    client, _ = customer
    choice = await courier_choice(client, "boxberry")
    status, body = await hold(client, new_order(), {**choice, "cost": choice["cost"] - 100})
    assert status == 422 and "does not match the quoted cost" in body["errorMessage"]


async def test_an_expired_quote_cannot_hold_a_slot(customer: tuple[Client, str], stack, mongo):
    client, _ = customer
    choice = await courier_choice(client, "dpd")
    await mongo[stack.delivery.name].quotes.update_one(
        {"_id": choice["quoteId"]},
        {"$set": {"expiresAt": datetime.now(UTC) - timedelta(seconds=1)}},
    )
    status, body = await hold(client, new_order(), choice)
    assert status == 409 and "expired" in body["errorMessage"]


async def test_a_quote_for_an_unknown_company_or_an_empty_address_400_an_unknown_point_404(
    customer: tuple[Client, str],
):
    client, _ = customer
    status, body = await client.post("/quotes", {"address": ADDRESS, "courierCompany": "pigeon"})
    assert status == 400 and "unknown courier company" in body["errorMessage"]
    status, body = await client.post("/quotes", {"address": "  ", "courierCompany": "cdek"})
    assert status == 400 and "address" in body["errorMessage"]
    status, body = await hold(client, new_order(), pickup(999))
    assert status == 404 and "Pickup point not found: 999" in body["errorMessage"]


async def test_a_guest_gets_401_on_quotes_and_slots(guest: Client):
    assert (await guest.post("/quotes", {"address": ADDRESS, "courierCompany": "cdek"}))[0] == 401
    assert (await hold(guest, new_order(), pickup(POINT_SAGA)))[0] == 401


async def test_a_customer_gives_a_held_slot_back_once_but_not_a_confirmed_one(
    customer: tuple[Client, str], stack: Stack, infra: Infra, mongo
):
    client, username = customer
    counters = mongo[stack.delivery.name].slots
    neighbour, order_id = new_order(), new_order()
    _, first = await hold(client, neighbour, pickup(POINT_REVERSE))
    _, held = await hold(client, order_id, pickup(POINT_REVERSE))
    assert held["slotId"] == first["slotId"]
    taken = (await counters.find_one({"_id": held["slotId"]}))["taken"]
    status, released = await client.call("DELETE", f"/slots/{order_id}")
    assert status == 200 and released["status"] == "RELEASED"
    assert await client.call("DELETE", f"/slots/{order_id}") == (200, released)
    assert (await counters.find_one({"_id": held["slotId"]}))["taken"] == taken - 1

    confirmed = await opened_case(client, username, infra, pickup(POINT_REVERSE))
    status, body = await client.call("DELETE", f"/slots/{confirmed}")
    assert status == 409 and "confirmed" in body["errorMessage"]


# -- capacity ----------------------------------------------------------------------------------
async def crowd(client: Client, point: int, count: int) -> list[tuple[int, Any]]:
    orders = [new_order() for _ in range(count)]
    return await asyncio.gather(*(hold(client, o, pickup(point)) for o in orders))


async def test_thirty_concurrent_holds_never_overbook_a_window_of_five(
    customer: tuple[Client, str], stack: Stack, mongo
):
    client, _ = customer
    answers = await crowd(client, POINT_CROWD, 30)
    held = [body for status, body in answers if status == 200]
    refused = [body for status, body in answers if status == 409]
    assert len(held) == CAPACITY * WINDOWS and len(refused) == 30 - CAPACITY * WINDOWS
    assert all("no free delivery slot" in body["errorMessage"] for body in refused)
    per_slot: dict[str, int] = {}
    for body in held:
        per_slot[body["slotId"]] = per_slot.get(body["slotId"], 0) + 1
    assert sorted(per_slot.values()) == [CAPACITY] * WINDOWS
    counters = mongo[stack.delivery.name].slots.find({"_id": {"$in": list(per_slot)}})
    assert [c["taken"] async for c in counters] == [CAPACITY] * WINDOWS


async def test_expired_holds_give_their_places_back(
    customer: tuple[Client, str], stack: Stack, mongo
):
    client, _ = customer
    answers = await crowd(client, POINT_EXPIRY, CAPACITY * WINDOWS)
    assert {status for status, _ in answers} == {200}
    late = new_order()
    assert (await hold(client, late, pickup(POINT_EXPIRY)))[0] == 409
    earliest = min(body["slotId"] for _, body in answers)
    holds = mongo[stack.delivery.name].holds
    await holds.update_many(
        {"slot.id": earliest}, {"$set": {"expiresAt": datetime.now(UTC) - timedelta(seconds=1)}}
    )
    # the sweeper found those expiry times when they were written (an hour away): one changed
    # by hand is read at its next round, `every` after the service's next commit (here another
    # customer gives a hold back) or servicekit.sweeps.BACKSTOP (10 s) at the latest
    other = next(body["orderId"] for _, body in answers if body["slotId"] != earliest)
    assert (await client.delete(f"/slots/{other}"))[0] == 200
    expired = {"slot.id": earliest, "status": "EXPIRED"}
    await eventually(lambda: _count_is(holds, expired, CAPACITY), timeout=10)
    status, body = await hold(client, late, pickup(POINT_EXPIRY))
    assert status == 200 and body["slotId"] == earliest


async def _count_is(collection: Any, query: dict[str, Any], count: int) -> bool:
    return bool(await collection.count_documents(query) == count)


# -- the saga ----------------------------------------------------------------------------------
async def test_confirm_and_reverse_delivered_twice_change_state_once(
    customer: tuple[Client, str], stack: Stack, infra: Infra, mongo
):
    client, username = customer
    db = mongo[stack.delivery.name]
    neighbour, order_id = new_order(), new_order()
    assert (await hold(client, neighbour, pickup(POINT_SAGA)))[0] == 200
    status, held = await hold(client, order_id, pickup(POINT_SAGA))
    assert status == 200
    taken = (await db.slots.find_one({"_id": held["slotId"]}))["taken"]
    assert taken >= 2  # so that giving the place back twice would show

    confirm = request(order_id, "CONFIRM", username, pickup(POINT_SAGA))
    for message_id in ("c-1", "c-1", "c-2"):
        await send(infra, confirm, f"{order_id}-{message_id}")
    answers = await exactly(infra, topics.CONFIRMATION_REPLIES.name, order_id, 2)
    assert [(a["requestType"], a["response"]) for a in answers] == [("CONFIRM", "SUCCESS")] * 2
    status, case = await client.get(f"/cases/{order_id}")
    assert status == 200 and case["status"] == "OPENED" and case["pointId"] == POINT_SAGA
    assert (await client.get(f"/slots/{order_id}"))[1]["status"] == "USED"
    assert await db.cases.count_documents({"_id": order_id}) == 1

    reverse = request(order_id, "REVERSE", username)
    for message_id in ("r-1", "r-1", "r-2"):
        await send(infra, reverse, f"{order_id}-{message_id}")
    answers = await exactly(infra, topics.CONFIRMATION_REPLIES.name, order_id, 4)
    assert [(a["requestType"], a["response"]) for a in answers[2:]] == [("REVERSE", "SUCCESS")] * 2
    status, case = await client.get(f"/cases/{order_id}")
    assert case["status"] == "CANCELLED"
    assert [h["status"] for h in case["history"]] == ["OPENED", "CANCELLED"]
    assert (await db.slots.find_one({"_id": held["slotId"]}))["taken"] == taken - 1


async def test_a_reverse_before_the_confirm_makes_the_confirm_fail(
    customer: tuple[Client, str], stack: Stack, infra: Infra, mongo
):
    _, username = customer
    order_id = new_order()
    await send(infra, request(order_id, "REVERSE", username))
    await send(infra, request(order_id, "CONFIRM", username, pickup(POINT_REVERSE)))
    first, second = await replies(infra, order_id, 2)
    assert (first["requestType"], first["response"]) == ("REVERSE", "SUCCESS")
    assert (second["requestType"], second["response"]) == ("CONFIRM", "FAIL")
    assert second["reason"] == "reversed before confirmed"
    assert await mongo[stack.delivery.name].holds.count_documents({"_id": order_id}) == 0


async def test_a_confirm_whose_hold_is_gone_holds_a_slot_from_the_request(
    customer: tuple[Client, str], infra: Infra
):
    client, username = customer
    order_id = new_order()
    await send(infra, request(order_id, "CONFIRM", username, pickup(POINT_REVERSE)))
    [answer] = await replies(infra, order_id, 1)
    assert answer["response"] == "SUCCESS"
    status, case = await client.get(f"/cases/{order_id}")
    assert status == 200 and case["status"] == "OPENED" and case["deliveryDate"]


# -- driving the case --------------------------------------------------------------------------
async def opened_case(client: Client, username: str, infra: Infra, delivery: dict[str, Any]) -> str:
    order_id = new_order()
    assert (await hold(client, order_id, delivery))[0] == 200
    await send(infra, request(order_id, "CONFIRM", username, delivery))
    [answer] = await replies(infra, order_id, 1)
    assert answer["response"] == "SUCCESS"
    return order_id


async def hand_over(infra: Infra, order_id: str) -> None:
    """store_svc's word that picking handed the order's parcel over: delivery may start."""
    parcel = {
        "orderId": order_id,
        "warehouseId": "msk-1",
        "items": [{"productId": 7, "warehouseId": "msk-1", "quantity": 1}],
        "timestamp": datetime.now(UTC).isoformat(),
    }
    await publish(infra.kafka_bootstrap, topics.PARCELS.name, parcel, key=order_id)


async def handed_over(client: Client, infra: Infra, order_id: str) -> dict[str, Any]:
    await hand_over(infra, order_id)

    async def recorded() -> dict[str, Any] | None:
        _, case = await client.get(f"/cases/{order_id}")
        return case if case.get("handedOverAt") else None

    found: dict[str, Any] = await eventually(recorded, timeout=15)
    return found


async def test_an_admin_cannot_move_a_case_on_before_its_parcel_is_handed_over(
    customer: tuple[Client, str], admin: Client, infra: Infra
):
    client, username = customer
    order_id = await opened_case(client, username, infra, pickup(POINT_DRIVE))
    status, body = await admin.put(f"/cases/{order_id}/status", {"status": "IN_TRANSIT"})
    assert status == 409 and "has not been handed over" in body["errorMessage"]
    case = await handed_over(client, infra, order_id)
    assert case["status"] == "IN_TRANSIT"  # a pickup parcel sets off to its point at once


async def test_a_parcel_handed_over_before_its_confirm_starts_the_delivery_once_confirmed(
    customer: tuple[Client, str], stack: Stack, infra: Infra, mongo
):
    client, username = customer
    order_id = new_order()
    assert (await hold(client, order_id, pickup(POINT_DRIVE)))[0] == 200
    await hand_over(infra, order_id)
    kept = mongo[stack.delivery.name].parcels
    await eventually(lambda: _count_is(kept, {"_id": order_id}, 1), timeout=15)
    await send(infra, request(order_id, "CONFIRM", username, pickup(POINT_DRIVE)))
    [answer] = await replies(infra, order_id, 1)
    assert answer["response"] == "SUCCESS"
    _, case = await client.get(f"/cases/{order_id}")
    assert case["status"] == "IN_TRANSIT" and case["handedOverAt"]


async def test_a_pickup_case_at_its_point_tells_the_customer_and_the_order(
    customer: tuple[Client, str], admin: Client, guest: Client, infra: Infra
):
    client, username = customer
    order_id = await opened_case(client, username, infra, pickup(POINT_DRIVE))
    await handed_over(client, infra, order_id)
    assert (await admin.put(f"/cases/{order_id}/status", {"status": "IN_TRANSIT"}))[0] == 200
    status, case = await admin.put(f"/cases/{order_id}/status", {"status": "AT_PICKUP_POINT"})
    assert status == 200 and case["status"] == "AT_PICKUP_POINT"
    arrived = datetime.fromisoformat(case["history"][-1]["at"])

    [notice] = await exactly(infra, topics.DELIVERY_NOTIFICATIONS.name, order_id, 1)
    point = next(
        p for p in (await guest.get("/pickup-points"))[1]["items"] if p["id"] == POINT_DRIVE
    )
    assert notice["username"] == username and "homeDelivery" not in notice
    code = notice["pickupPointDelivery"].pop("pickupCode")
    assert len(code) == 6 and code.isdigit()
    keep = (arrived + timedelta(days=3)).astimezone(MOSCOW).date()  # the default storage
    assert notice["pickupPointDelivery"] == {
        "pointId": POINT_DRIVE,
        "address": point["address"],
        "availDate": datetime.now(MOSCOW).date().isoformat(),
        "keepUntil": keep.isoformat(),
    }
    [update] = await exactly(infra, topics.ORDER_STATUS_FEED.name, order_id, 1)
    assert update["status"] == "READY_FOR_PICKUP" and update["orderId"] == order_id

    status, body = await admin.put(f"/cases/{order_id}/status", {"status": "OUT_FOR_DELIVERY"})
    assert status == 409 and "from AT_PICKUP_POINT to OUT_FOR_DELIVERY" in body["errorMessage"]
    _, case = await client.get(f"/cases/{order_id}")
    assert [h["status"] for h in case["history"]] == ["OPENED", "IN_TRANSIT", "AT_PICKUP_POINT"]
    assert [h["by"] for h in case["history"]][1] == "warehouse"


async def test_a_courier_setting_out_tells_the_customer_the_day_and_the_window(
    customer: tuple[Client, str], admin: Client, infra: Infra
):
    client, username = customer
    choice = await courier_choice(client, "yandex")
    order_id = await opened_case(client, username, infra, choice)
    await handed_over(client, infra, order_id)
    for status in ("IN_TRANSIT", "OUT_FOR_DELIVERY", "OUT_FOR_DELIVERY"):
        assert (await admin.put(f"/cases/{order_id}/status", {"status": status}))[0] == 200
    _, case = await client.get(f"/cases/{order_id}")
    [notice] = await exactly(infra, topics.DELIVERY_NOTIFICATIONS.name, order_id, 1)
    assert notice["homeDelivery"] == {
        "homeAddress": ADDRESS,
        "deliveryDate": case["deliveryDate"],
        "timeSlot": case["timeSlot"],
    }
    assert (await admin.put(f"/cases/{order_id}/status", {"status": "RECEIVED"}))[0] == 200
    feed = await exactly(infra, topics.ORDER_STATUS_FEED.name, order_id, 2)
    assert [u["status"] for u in feed] == ["DELIVERING", "COMPLETED"]


async def test_a_customer_cannot_drive_a_case_and_another_one_cannot_see_it(
    customer: tuple[Client, str], stack: Stack, guest: Client, infra: Infra
):
    client, username = customer
    order_id = await opened_case(client, username, infra, pickup(POINT_DRIVE))
    status, _ = await client.put(f"/cases/{order_id}/status", {"status": "IN_TRANSIT"})
    assert status == 403
    stranger, _ = await new_customer(stack)
    try:
        assert (await stranger.get(f"/cases/{order_id}"))[0] == 404
        assert (await stranger.get(f"/slots/{order_id}"))[0] == 404
    finally:
        await stranger.close()
    assert (await guest.get(f"/cases/{order_id}"))[0] == 401
    assert (await client.get(f"/cases/{order_id}"))[1]["status"] == "OPENED"
