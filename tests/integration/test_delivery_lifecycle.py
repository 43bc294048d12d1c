"""delivery_svc after the hand-over, as real processes: auth_svc, delivery_svc, notification_svc
with the SMS gateway simulator, the pickup points' simulator and the carriers' simulator. A
pickup parcel travels to its point, the customer gets the code by SMS (even with SMS turned
off) and collects it; wrong codes are limited; an unclaimed parcel goes back; a courier parcel
is booked and tracked to the door, or back, or lost; REVERSE always answers SUCCESS; a paid
order's hold outlives its original expiry."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from delivery_svc.carriers import WEBHOOK_PATH, sign_event
from delivery_svc.slots import MOSCOW
from launcher.embedded import free_port
from launcher.processes import ServiceProcess
from schemas import topics
from tests.conftest import start_service
from tests.integration.test_auth_flows import create_admin
from tests.integration.test_delivery import (
    courier_choice,
    exactly,
    hand_over,
    hold,
    messages_for,
    new_order,
    pickup,
    replies,
    request,
    send,
    session_client,
)
from tests.support import notification_protocols
from tests.support.holds import HOLDS_ENV
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.kafka import eventually, publish

CODE = re.compile(r"Код получения: (\d{6})")
POINT = 3


@dataclass
class Stack:
    auth: ServiceProcess
    delivery: ServiceProcess
    protocols: notification_protocols.Protocols
    pickup: ServiceProcess
    carrier: ServiceProcess
    token: str  # the pickup points' credential
    carrier_token: str
    webhook_secret: str


@pytest.fixture(scope="module")
async def stack(infra: Infra) -> AsyncIterator[Stack]:
    logs = Path(tempfile.mkdtemp())
    token, carrier_token, webhook = (secrets.token_hex(16) for _ in range(3))
    auth = start_service(infra, "auth_svc", logs)
    protocols = notification_protocols.start(infra, logs, auth.url)
    pickup_url, carrier_url = (f"http://127.0.0.1:{free_port()}" for _ in range(2))
    delivery = start_service(
        infra,
        "delivery_svc",
        logs,
        env={
            "SAGASHOP_AUTH_URL": auth.url,
            **HOLDS_ENV,  # its slots are held as order_svc holds them (test_delivery.hold)
            "SAGASHOP_SLOT_HORIZON_DAYS": "1",
            "SAGASHOP_SLOT_LEAD_SECONDS": "0",
            "SAGASHOP_SWEEP_INTERVAL_SECONDS": "0.2",
            "SAGASHOP_DISPATCH_INTERVAL_SECONDS": "0.2",
            "SAGASHOP_PICKUP_URL": pickup_url,
            "SAGASHOP_PICKUP_TOKEN": token,
            "SAGASHOP_COURIER_ADAPTER": "http",  # prices and bookings from the carrier_sim
            "SAGASHOP_CARRIER_URL": carrier_url,
            "SAGASHOP_CARRIER_TOKEN": carrier_token,
            "SAGASHOP_CARRIER_WEBHOOK_SECRET": webhook,
            "SAGASHOP_CARRIER_RETRY_SECONDS": "2",
            "SAGASHOP_TRACKING_TIMEOUT_SECONDS": "2",
        },
    )
    common = {**infra.env(), "SAGASHOP_LOG_JSON": "false", "SAGASHOP_DELIVERY_URL": delivery.url}
    pickup_sim = ServiceProcess(
        "pickup_sim",
        "delivery_svc.pickup_sim",
        int(pickup_url.rsplit(":", 1)[1]),
        {
            **common,
            "SAGASHOP_PICKUP_TOKEN": token,
            "SAGASHOP_SMS_URL": protocols.sms.url,
            "SAGASHOP_PICKUP_STATE": str(logs / "pickup-sim.json"),
            "SAGASHOP_PICKUP_TRANSIT_SECONDS": "0.5",
            "SAGASHOP_PICKUP_COLLECT_SECONDS": "0.5",
            "SAGASHOP_PICKUP_UNCLAIMED_SHARE": "0",
        },
        logs / "pickup_sim.log",
    )
    carrier_sim = ServiceProcess(
        "carrier_sim",
        "delivery_svc.carrier_sim",
        int(carrier_url.rsplit(":", 1)[1]),
        {
            **common,
            "SAGASHOP_CARRIER_TOKEN": carrier_token,
            "SAGASHOP_CARRIER_WEBHOOK_SECRET": webhook,
            "SAGASHOP_CARRIER_STATE": str(logs / "carrier-sim.json"),
            "SAGASHOP_CARRIER_PACE_SECONDS": "0.3",
            "SAGASHOP_CARRIER_FAILED_ATTEMPT_SHARE": "0",
            "SAGASHOP_CARRIER_LOST_SHARE": "0",
            "SAGASHOP_CARRIER_LOST_AFTER_SECONDS": "0.5",
        },
        logs / "carrier_sim.log",
    )
    pickup_sim.start()
    carrier_sim.start()
    procs = [auth, protocols.mail, protocols.sms, protocols.notification, delivery]
    procs += [pickup_sim, carrier_sim]
    try:
        await asyncio.gather(*(p.wait_ready(90) for p in procs))
        yield Stack(
            auth, delivery, protocols, pickup_sim, carrier_sim, token, carrier_token, webhook
        )
    finally:
        for proc in procs:
            proc.kill()


@dataclass
class Customer:
    client: Client  # at delivery_svc, with the customer's session
    username: str
    phone: str
    session: str


@pytest.fixture(scope="module")
async def customer(stack: Stack) -> AsyncIterator[Customer]:
    """A registered customer who turned SMS off (e-mail only) in notification_svc."""
    at_auth = Client(stack.auth.url)
    user = {
        "username": f"user_{secrets.token_hex(4)}",
        "firstName": "Анна",
        "lastName": "Смирнова",
        "email": f"anna.{secrets.token_hex(4)}@example.com",
        "phone": f"+7999{secrets.randbelow(10**7):07d}",
        "password": "qwerty1234",
    }
    assert (await at_auth.post("/register", user))[0] == 200
    await at_auth.close()
    client = await session_client(stack, user)  # type: ignore[arg-type]
    session = client.cookie("sessionId") or ""
    url = f"{stack.protocols.notification.url}/notifications/preferences"

    async def email_only() -> bool:
        status, _ = await notification_protocols.call(
            "PUT", url, {"channels": ["email"]}, cookies={"sessionId": session}
        )
        return status == 200  # once notification_svc has heard of the new account

    await eventually(email_only, timeout=30)
    yield Customer(client, user["username"], user["phone"], session)
    await client.close()


@pytest.fixture(scope="module")
async def admin(stack: Stack, infra: Infra) -> AsyncIterator[Client]:
    client = await session_client(stack, create_admin(stack.auth, infra))  # type: ignore[arg-type]
    yield client
    await client.close()


async def confirmed(customer: Customer, infra: Infra, delivery: dict[str, Any]) -> str:
    order_id = new_order()
    assert (await hold(customer.client, order_id, delivery))[0] == 200
    await send(infra, request(order_id, "CONFIRM", customer.username, delivery))
    [answer] = await replies(infra, order_id, 1)
    assert answer["response"] == "SUCCESS"
    return order_id


async def case_in(customer: Customer, order_id: str, *statuses: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        _, case = await customer.client.get(f"/cases/{order_id}")
        return case if case.get("status") in statuses else None

    found: dict[str, Any] = await eventually(reached, timeout=45)
    return found


async def feed(infra: Infra, order_id: str, count: int) -> list[dict[str, Any]]:
    return await exactly(infra, topics.ORDER_STATUS_FEED.name, order_id, count)


async def at_point_call(
    stack: Stack, path: str, body: dict[str, Any], token: str | None = None
) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"Bearer {stack.token if token is None else token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{stack.delivery.url}{path}", json=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json(), dict(resp.headers)


async def never_collected(stack: Stack, order_id: str) -> None:
    """The customer of this order never comes to the point."""
    status, config = await notification_protocols.call(
        "GET", f"{stack.pickup.url}/config", headers={"Authorization": f"Bearer {stack.token}"}
    )
    assert status == 200, config
    body = {"unclaimedOrders": [*config["unclaimedOrders"], order_id]}
    status, config = await notification_protocols.call(
        "PUT",
        f"{stack.pickup.url}/config",
        body,
        headers={"Authorization": f"Bearer {stack.token}"},
    )
    assert status == 200, config


async def sms_code(stack: Stack, customer: Customer, order_id: str) -> tuple[str, str]:
    async def sent() -> tuple[str, str] | None:
        rows = await notification_protocols.sms_to(stack.protocols.sms, customer.phone)
        texts = [r["text"] for r in rows if order_id in r["text"]]
        match = CODE.search(texts[-1]) if texts else None
        return (match.group(1), texts[-1]) if match else None

    found: tuple[str, str] = await eventually(sent, timeout=30)
    return found


# -- pickup ------------------------------------------------------------------------------------
async def test_a_pickup_parcel_reaches_its_point_and_the_customer_collects_it_with_the_sms_code(
    stack: Stack, customer: Customer, infra: Infra, mongo
):
    order_id = await confirmed(customer, infra, pickup(POINT))
    assert (await customer.client.get(f"/cases/{order_id}"))[1]["status"] == "OPENED"
    await hand_over(infra, order_id)
    case = await case_in(customer, order_id, "RECEIVED")
    assert [h["status"] for h in case["history"]] == [
        "OPENED",
        "IN_TRANSIT",
        "AT_PICKUP_POINT",
        "RECEIVED",
    ]
    assert [h["by"] for h in case["history"][1:]] == ["warehouse", "pickup point", "pickup point"]
    updates = await feed(infra, order_id, 2)
    assert [u["status"] for u in updates] == ["READY_FOR_PICKUP", "COMPLETED"]

    # SMS is off for this customer, but the code is a message they must get
    code, text = await sms_code(stack, customer, order_id)
    keep = datetime.fromisoformat(case["keepUntil"]).astimezone(MOSCOW).date()
    assert f"Храним до {keep:%d.%m.%Y}" in text and "Москва" in text
    status, parcels = await notification_protocols.call(
        "GET", f"{stack.pickup.url}/parcels", headers={"Authorization": f"Bearer {stack.token}"}
    )
    assert {"orderId": order_id, "state": "collected"}.items() <= next(
        p for p in parcels if p["orderId"] == order_id
    ).items()
    # notification_svc kept no copy of the code once the SMS was sent
    kept = mongo[stack.protocols.notification.name].notifications

    async def sent() -> dict[str, Any] | None:
        found = await kept.find_one({"payload.orderId": order_id, "status": "SENT"})
        return dict(found) if found else None

    notice = await eventually(sent, timeout=20)
    assert "secret" not in notice
    assert "pickupCode" not in notice["payload"]["pickupPointDelivery"]
    # the code was used: it does not collect the parcel a second time
    status, body, _ = await at_point_call(stack, "/pickups", {"orderId": order_id, "code": code})
    assert status == 409 and "not waiting at a pickup point" in body["errorMessage"]


async def at_the_point(stack: Stack, customer: Customer, infra: Infra) -> str:
    order_id = await confirmed(customer, infra, pickup(POINT))
    await never_collected(stack, order_id)
    await hand_over(infra, order_id)
    await case_in(customer, order_id, "AT_PICKUP_POINT")
    return order_id


async def test_five_wrong_codes_at_once_are_counted_and_then_even_the_right_code_gets_429(
    stack: Stack, customer: Customer, infra: Infra
):
    order_id = await at_the_point(stack, customer, infra)
    code, _ = await sms_code(stack, customer, order_id)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert (await at_point_call(stack, "/pickups", {"orderId": order_id, "code": code}, "x"))[
        0
    ] == 401
    guesses = await asyncio.gather(
        *(at_point_call(stack, "/pickups", {"orderId": order_id, "code": wrong}) for _ in range(8))
    )
    statuses = sorted(status for status, _, _ in guesses)
    assert statuses == [409] * 5 + [429] * 3, guesses
    assert all("wrong pickup code" in b["errorMessage"] for s, b, _ in guesses if s == 409)
    status, body, headers = await at_point_call(
        stack, "/pickups", {"orderId": order_id, "code": code}
    )
    assert status == 429 and "too many wrong pickup codes" in body["errorMessage"]
    assert 0 < int(headers["Retry-After"]) <= 900
    assert (await customer.client.get(f"/cases/{order_id}"))[1]["status"] == "AT_PICKUP_POINT"
    status, body, _ = await at_point_call(stack, "/pickups", {"orderId": new_order(), "code": code})
    assert status == 404


async def test_a_parcel_not_collected_by_its_keep_until_goes_back_and_cancels_the_order_restocked(
    stack: Stack, customer: Customer, infra: Infra, mongo
):
    order_id = await at_the_point(stack, customer, infra)
    past = datetime.now(UTC) - timedelta(seconds=1)
    await mongo[stack.delivery.name].cases.update_one(
        {"_id": order_id}, {"$set": {"keepUntil": past}}
    )
    case = await case_in(customer, order_id, "RETURNED")
    assert case["reason"] == "not collected in time"
    ready, cancelled = await feed(infra, order_id, 2)
    assert ready["status"] == "READY_FOR_PICKUP"
    assert (cancelled["status"], cancelled["reason"], cancelled["disposition"]) == (
        "CANCELLED",
        "not collected in time",
        "RESTOCK",
    )


async def test_a_reverse_answers_success_for_a_received_case_and_cancels_one_not_yet_collected(
    stack: Stack, customer: Customer, admin: Client, infra: Infra
):
    received = await confirmed(customer, infra, pickup(POINT))
    waiting = await confirmed(customer, infra, pickup(POINT))
    for order_id in (received, waiting):
        await never_collected(stack, order_id)
        await hand_over(infra, order_id)
    await case_in(customer, received, "AT_PICKUP_POINT")
    code, _ = await sms_code(stack, customer, received)
    status, case = await admin.post("/pickups", {"orderId": received, "code": code})
    assert status == 200 and case["status"] == "RECEIVED"  # staff may enter the code too
    assert case["history"][-1]["by"] != "pickup point"
    for order_id in (received, waiting):
        await send(infra, request(order_id, "REVERSE", customer.username))
        answers = await replies(infra, order_id, 2)
        assert (answers[-1]["requestType"], answers[-1]["response"]) == ("REVERSE", "SUCCESS")
    assert (await customer.client.get(f"/cases/{received}"))[1]["status"] == "RECEIVED"
    case = await case_in(customer, waiting, "CANCELLED")
    assert case["history"][-1]["by"] == "saga"


# -- kept holds --------------------------------------------------------------------------------
async def test_a_hold_extension_keeps_the_hold_past_its_original_expiry_while_the_sweeper_runs(
    stack: Stack, customer: Customer, infra: Infra, mongo
):
    holds = mongo[stack.delivery.name].holds
    order_id = new_order()
    assert (await hold(customer.client, order_id, pickup(POINT)))[0] == 200
    soon = datetime.now(UTC) + timedelta(seconds=3)
    await holds.update_one({"_id": order_id}, {"$set": {"expiresAt": soon}})
    until = datetime.now(UTC) + timedelta(minutes=10)
    extension = {"orderId": order_id, "until": until.isoformat()}
    await publish(infra.kafka_bootstrap, topics.HOLD_EXTENSIONS.name, extension, key=order_id)

    async def extended() -> bool:
        doc = await holds.find_one({"_id": order_id})
        return bool(doc["expiresAt"].replace(tzinfo=UTC) > soon + timedelta(minutes=1))

    await eventually(extended, timeout=20)
    await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 1.0)
    _, held = await customer.client.get(f"/slots/{order_id}")
    assert held["status"] == "HELD"
    assert datetime.fromisoformat(held["expiresAt"]) >= until - timedelta(seconds=1)


# -- courier -----------------------------------------------------------------------------------
async def carrier_config(stack: Stack, **config: Any) -> None:
    status, body = await notification_protocols.call(
        "PUT", f"{stack.carrier.url}/config", config, headers=carrier_auth(stack)
    )
    assert status == 200, body


def carrier_auth(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.carrier_token}"}


async def courier_order(customer: Customer, infra: Infra) -> str:
    order_id = await confirmed(customer, infra, await courier_choice(customer.client, "cdek"))
    await hand_over(infra, order_id)
    return order_id


async def signed_event(stack: Stack, event: dict[str, Any], secret: str | None = None) -> Any:
    body = json.dumps(event).encode()
    headers = sign_event(secret or stack.webhook_secret, body)
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{stack.delivery.url}{WEBHOOK_PATH}", data=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def test_courier_parcels_are_delivered_returned_or_lost_as_the_carrier_says(
    stack: Stack, customer: Customer, infra: Infra
):
    await carrier_config(stack, failedAttemptShare=0, lostShare=0)
    delivered = await courier_order(customer, infra)
    case = await case_in(customer, delivered, "RECEIVED")
    assert case["shipmentId"] and [h["by"] for h in case["history"][1:]] == ["carrier"] * 3
    assert [u["status"] for u in await feed(infra, delivered, 2)] == ["DELIVERING", "COMPLETED"]

    await carrier_config(stack, failedAttemptShare=1, maxAttempts=2)
    returned = await courier_order(customer, infra)
    case = await case_in(customer, returned, "RETURNED")
    assert case["failedAttempts"] == 2 and case["reason"] == "delivery failed"
    delivering, cancelled = await feed(infra, returned, 2)
    assert delivering["status"] == "DELIVERING"
    assert (cancelled["status"], cancelled["reason"], cancelled["disposition"]) == (
        "CANCELLED",
        "delivery failed",
        "RESTOCK",
    )

    await carrier_config(stack, failedAttemptShare=0, lostShare=1)
    lost = await courier_order(customer, infra)
    case = await case_in(customer, lost, "LOST")
    [cancelled] = await feed(infra, lost, 1)
    assert (cancelled["status"], cancelled["reason"], cancelled["disposition"]) == (
        "CANCELLED",
        "parcel lost",
        "WRITE_OFF",
    )
    await carrier_config(stack, lostShare=0)

    # a DELIVERED after RETURNED is ignored; a bad signature and an unknown parcel are refused
    shipment = (await customer.client.get(f"/cases/{returned}"))[1]["shipmentId"]
    late = {
        "eventId": new_order(),
        "shipmentId": shipment,
        "orderId": returned,
        "status": "DELIVERED",
        "at": datetime.now(UTC).isoformat(),
    }
    status, body = await signed_event(stack, late)
    assert status == 200 and "the case has ended (RETURNED)" in body["ignored"]
    assert (await signed_event(stack, late, secret="not-the-secret"))[0] == 401
    assert (await signed_event(stack, {**late, "orderId": new_order()}))[0] == 404
    assert (await customer.client.get(f"/cases/{returned}"))[1]["status"] == "RETURNED"
    await asyncio.sleep(0.5)
    assert len(await messages_for(infra, topics.ORDER_STATUS_FEED.name, returned, 2)) == 2


async def test_a_reverse_cancels_a_booked_shipment_at_the_carrier(
    stack: Stack, customer: Customer, infra: Infra
):
    await carrier_config(stack, paceSeconds=30)
    try:
        order_id = await courier_order(customer, infra)
        shipment = await eventually(lambda: shipment_of(customer, order_id), timeout=30)
        await send(infra, request(order_id, "REVERSE", customer.username))
        [_, answer] = await replies(infra, order_id, 2)
        assert answer["response"] == "SUCCESS"

        async def cancelled_at_carrier() -> bool:
            status, view = await notification_protocols.call(
                "GET", f"{stack.carrier.url}/shipments/{shipment}", headers=carrier_auth(stack)
            )
            return status == 200 and view["status"] == "CANCELLED"

        await eventually(cancelled_at_carrier, timeout=30)
        assert (await customer.client.get(f"/cases/{order_id}"))[1]["status"] == "CANCELLED"
    finally:
        await carrier_config(stack, paceSeconds=0.3)


async def shipment_of(customer: Customer, order_id: str) -> str | None:
    _, case = await customer.client.get(f"/cases/{order_id}")
    return case.get("shipmentId")
