"""An order's life after payment, in order_svc and orchestra run as their own processes on the
real broker and database: the hand-over by itself, the guards (409 with the current status,
nothing changed), cancellations and returns of handed-over orders compensated by orchestra, the
status feed from the topic to the order, a paid order that never reaches its saga, and the
admin's view of it all.

The saga's participants (payment, store, delivery) and payment's event are played by the test
on their real topics; store and delivery edges are absent, so the admin detail shows them null.
Orders are written as checkout leaves them (AWAITING_PAYMENT), straight into order_svc's
database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from launcher.embedded import free_port
from launcher.processes import ServiceProcess
from schemas import topics
from tests.support.gift_card_orders import now, on_topic, paid
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.kafka import eventually, publish
from tests.support.services import admin_client, running
from tests.support.store import logged_in

PARTICIPANTS = {
    "PAYMENT": topics.PAYMENT_CONFIRMATIONS,
    "STORE": topics.STORE_CONFIRMATIONS,
    "DELIVERY": topics.DELIVERY_CONFIRMATIONS,
}
WAIT = 40.0


@pytest.fixture(scope="module")
async def orchestra(infra: Infra, auth: ServiceProcess) -> AsyncIterator[ServiceProcess]:
    env = {"SAGASHOP_AUTH_URL": auth.url, "SAGASHOP_SAGA_TIMEOUT_SECONDS": "60"}
    async with running(infra, "orchestra", **env) as proc:
        yield proc


@pytest.fixture(scope="module")
async def order_svc(
    infra: Infra, auth: ServiceProcess, orchestra: ServiceProcess
) -> AsyncIterator[ServiceProcess]:
    nobody = f"http://127.0.0.1:{free_port()}"
    env = {
        "SAGASHOP_AUTH_URL": auth.url,
        "SAGASHOP_ORCHESTRA_URL": orchestra.url,
        "SAGASHOP_STORE_URL": nobody,
        "SAGASHOP_DELIVERY_URL": nobody,
        "SAGASHOP_HANDOVER_SWEEP_SECONDS": "0.5",
        "SAGASHOP_PAID_HOLD_SECONDS": "7200",
    }
    async with running(infra, "order_svc", **env) as proc:
        yield proc


@pytest.fixture(scope="module")
async def manual_order_svc(
    infra: Infra, auth: ServiceProcess, orchestra: ServiceProcess
) -> AsyncIterator[ServiceProcess]:
    """order_svc without the hand-over by itself: `PUT /process` hands a paid order over."""
    env = {
        "SAGASHOP_AUTH_URL": auth.url,
        "SAGASHOP_ORCHESTRA_URL": orchestra.url,
        "SAGASHOP_AUTO_HANDOVER": "false",
    }
    async with running(infra, "order_svc", **env) as proc:
        yield proc


@pytest.fixture
async def customer(
    auth: ServiceProcess, order_svc: ServiceProcess
) -> AsyncIterator[tuple[Client, str]]:
    client, username = await logged_in(auth, order_svc.url)
    yield client, username
    await client.close()


@pytest.fixture
async def payable(
    infra: Infra, mongo: Any, auth: ServiceProcess, manual_order_svc: ServiceProcess
) -> AsyncIterator[tuple[Client, str, dict[str, Any]]]:
    """A customer of manual_order_svc, and their order paid and waiting for `PUT /process`."""
    client, username = await logged_in(auth, manual_order_svc.url)
    order = await checked_out(mongo, manual_order_svc, username)
    await paid(infra, order)
    yield client, username, await reaches(client, order["id"], "PAID")
    await client.close()


@pytest.fixture
async def admin(
    auth: ServiceProcess, order_svc: ServiceProcess, mongo: Any
) -> AsyncIterator[Client]:
    async with admin_client(auth, order_svc.url, mongo) as client:
        yield client


# -- orders, payment and the participants ----------------------------------------------------
async def checked_out(
    mongo: Any, order_svc: ServiceProcess, username: str, **fields: Any
) -> dict[str, Any]:
    """An order as checkout leaves it, awaiting payment (or `status` given in `fields`)."""
    at = datetime.now(UTC).replace(microsecond=0)
    doc = {
        "_id": f"o-{uuid.uuid4().hex[:12]}",
        "username": username,
        "status": "AWAITING_PAYMENT",
        "version": 2,
        "items": [{"id": 1, "productId": 7, "name": "Велосипед", "price": 250_000, "quantity": 1}],
        "total": 250_000,
        "currency": "RUB",
        "email": f"{username}@example.com",
        "phone": "+79161234567",
        "delivery": {"type": "pickup", "pointId": 1},
        "deliveryCost": 0,
        "expiresAt": at + timedelta(hours=1),
        "createdAt": at,
        "updatedAt": at,
        "history": [
            {"at": at, "status": "NEW", "by": username, "reason": None},
            {"at": at, "status": "AWAITING_PAYMENT", "by": username, "reason": None},
        ],
        **fields,
    }
    await mongo[order_svc.name].orders.insert_one(doc)
    return {"id": doc["_id"], "total": doc["total"]}


async def order_of(client: Client, order_id: str) -> dict[str, Any]:
    status, order = await client.get(f"/get?orderId={order_id}")
    assert status == 200, order
    return dict(order)


async def reaches(client: Client, order_id: str, status: str) -> dict[str, Any]:
    async def there() -> dict[str, Any] | None:
        order = await order_of(client, order_id)
        return order if order["status"] == status else None

    found: dict[str, Any] = await eventually(there, timeout=WAIT)
    return found


async def asked(infra: Infra, order_id: str, kind: str) -> dict[str, dict[str, Any]]:
    """The request of `kind` (CONFIRM / REVERSE) each participant got for the order."""
    found = {}
    for who, topic in PARTICIPANTS.items():

        async def seen(topic: topics.Topic = topic) -> list[Any] | None:
            msgs = await on_topic(infra, topic, order_id)
            mine = [m for m in msgs if m["requestType"] == kind]
            return mine or None

        [found[who], *_] = await eventually(seen, timeout=WAIT)
    return found


async def answer_all(infra: Infra, order_id: str, kind: str) -> dict[str, dict[str, Any]]:
    """Each participant gets its request of `kind` and answers SUCCESS."""
    requests = await asked(infra, order_id, kind)
    for who in PARTICIPANTS:
        body = {"orderId": order_id, "requestType": kind, "confirmator": who, "response": "SUCCESS"}
        await publish(infra.kafka_bootstrap, topics.CONFIRMATION_REPLIES.name, body, key=order_id)
    return requests


async def confirmed(
    infra: Infra, mongo: Any, order_svc: ServiceProcess, client: Client, username: str
) -> dict[str, Any]:
    order = await checked_out(mongo, order_svc, username)
    await paid(infra, order)
    await answer_all(infra, order["id"], "CONFIRM")
    return await reaches(client, order["id"], "CONFIRMED")


async def feed(infra: Infra, order_id: str, status: str, **extra: Any) -> None:
    body = {"orderId": order_id, "status": status, "source": "store_svc", "timestamp": now()}
    await publish(
        infra.kafka_bootstrap, topics.ORDER_STATUS_FEED.name, {**body, **extra}, key=order_id
    )


async def notices(infra: Infra, order_id: str, kind: str) -> list[dict[str, Any]]:
    async def told() -> list[Any] | None:
        msgs = await on_topic(infra, topics.ORDER_NOTIFICATIONS, order_id)
        return [m for m in msgs if m["notificationType"] == kind] or None

    found: list[dict[str, Any]] = await eventually(told, timeout=WAIT)
    return found


async def saga_of(mongo: Any, orchestra: ServiceProcess, order_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await mongo[orchestra.name].sagas.find_one({"_id": order_id})
    return found


# -- the tests -------------------------------------------------------------------------------
async def test_a_paid_order_is_handed_over_by_itself_and_its_holds_are_kept(
    infra: Infra, mongo: Any, order_svc: ServiceProcess, customer: tuple[Client, str]
):
    client, username = customer
    order = await checked_out(mongo, order_svc, username)
    await paid(infra, order)

    handed = await reaches(client, order["id"], "IN_PROGRESS")
    steps = [(h["status"], h["by"]) for h in handed["history"]][-2:]
    assert steps == [("PAID", "payment_svc"), ("IN_PROGRESS", "order_svc")]
    requests = await asked(infra, order["id"], "CONFIRM")
    assert requests["PAYMENT"]["total"] == 250_000
    [hold] = await on_topic(infra, topics.HOLD_EXTENSIONS, order["id"])
    paid_at = datetime.fromisoformat(handed["history"][-2]["at"])
    until = datetime.fromisoformat(hold["until"])
    assert abs((until - paid_at).total_seconds() - 7200) < 2


async def test_a_customer_cannot_cancel_an_order_in_progress_and_it_ends_confirmed(
    infra: Infra, mongo: Any, order_svc: ServiceProcess, customer: tuple[Client, str]
):
    client, username = customer
    order = await checked_out(mongo, order_svc, username)
    await paid(infra, order)
    handed = await reaches(client, order["id"], "IN_PROGRESS")

    status, processed = await client.put("/process", {"id": order["id"], "version": 3})
    assert status == 200 and processed == handed  # an old client's hand-over: answered as is
    status, refused = await client.put("/cancel", {"id": order["id"]})
    assert status == 409 and "current status IN_PROGRESS" in refused["errorMessage"]
    assert await order_of(client, order["id"]) == handed

    await answer_all(infra, order["id"], "CONFIRM")
    done = await reaches(client, order["id"], "CONFIRMED")
    assert done.get("cancellation") is None


async def test_process_then_cancel_at_once_is_refused_and_the_order_ends_confirmed(
    infra: Infra, payable: tuple[Client, str, dict[str, Any]]
):
    client, username, order = payable

    status, handed = await client.put("/process", {"id": order["id"], "version": order["version"]})
    assert status == 200 and handed["status"] == "IN_PROGRESS", handed
    status, refused = await client.put("/cancel", {"id": order["id"]})
    assert status == 409 and "current status IN_PROGRESS" in refused["errorMessage"]
    assert await order_of(client, order["id"]) == handed

    await answer_all(infra, order["id"], "CONFIRM")
    done = await reaches(client, order["id"], "CONFIRMED")
    assert [h["status"] for h in done["history"]][-3:] == ["PAID", "IN_PROGRESS", "CONFIRMED"]
    assert done["history"][-2]["by"] == username


async def test_handing_over_a_paid_order_reads_it_once_and_a_stale_version_is_still_refused(
    mongo: Any, manual_order_svc: ServiceProcess, payable: tuple[Client, str, dict[str, Any]]
):
    client, _, order = payable
    db = mongo[manual_order_svc.name]
    stale = {"id": order["id"], "version": order["version"] - 1}

    await db.command("profile", 2)
    try:
        status, refused = await client.put("/process", stale)
        status_ok, handed = await client.put(
            "/process", {"id": order["id"], "version": order["version"]}
        )
    finally:
        await db.command("profile", 0)

    assert status == 409, refused
    assert status_ok == 200 and handed["status"] == "IN_PROGRESS", handed
    reads = [
        e
        async for e in db["system.profile"].find({"op": "query", "command.filter._id": order["id"]})
    ]
    # the stale call reads once and is refused; the hand-over reads once (was twice: again
    # in its transaction), its write conditional on the version it read
    assert len(reads) == 2, [e["command"] for e in reads]


async def test_a_confirmed_order_cancelled_by_its_customer_is_compensated_refunded_once_and_told(
    infra: Infra,
    mongo: Any,
    order_svc: ServiceProcess,
    orchestra: ServiceProcess,
    customer: tuple[Client, str],
):
    client, username = customer
    order = await confirmed(infra, mongo, order_svc, client, username)
    assert (await saga_of(mongo, orchestra, order["id"]))["state"] == "CONFIRMED"

    status, pending = await client.put("/cancel", {"id": order["id"]})
    assert status == 200 and pending["status"] == "CONFIRMED"
    assert pending["cancellation"]["kind"] == "CANCEL"
    assert pending["cancellation"]["reason"] == "cancelled by the customer"
    status, again = await client.put("/cancel", {"id": order["id"]})
    assert (status, again) == (200, pending)

    reverses = await answer_all(infra, order["id"], "REVERSE")
    assert reverses["STORE"]["disposition"] == "RESTOCK"
    cancelled = await reaches(client, order["id"], "CANCELLED")
    assert cancelled["reason"] == "cancelled by the customer"
    assert cancelled["history"][-1]["by"] == username
    saga = await saga_of(mongo, orchestra, order["id"])
    assert saga["state"] == "CANCELLED" and saga["cancellation"]["by"] == username
    payment_reverses = [
        m
        for m in await on_topic(infra, topics.PAYMENT_CONFIRMATIONS, order["id"], expect=2)
        if m["requestType"] == "REVERSE"
    ]
    assert len(payment_reverses) == 1
    [told] = await notices(infra, order["id"], "cancelled")
    assert told["reason"] == "cancelled by the customer"


async def test_the_status_feed_moves_the_order_and_a_damaged_item_cancels_it_writing_off(
    infra: Infra, mongo: Any, order_svc: ServiceProcess, customer: tuple[Client, str]
):
    client, username = customer
    order = await confirmed(infra, mongo, order_svc, client, username)
    await feed(infra, order["id"], "ASSEMBLING")
    assembling = await reaches(client, order["id"], "ASSEMBLING")
    assert assembling["history"][-1]["by"] == "store_svc"

    await feed(infra, order["id"], "COMPLETED")  # not from ASSEMBLING: ignored
    status, refused = await client.put("/cancel", {"id": order["id"]})
    assert status == 409 and "current status ASSEMBLING" in refused["errorMessage"]
    await feed(infra, order["id"], "CANCELLED", reason="item damaged", disposition="WRITE_OFF")

    reverses = await answer_all(infra, order["id"], "REVERSE")
    assert reverses["STORE"]["disposition"] == "WRITE_OFF"
    cancelled = await reaches(client, order["id"], "CANCELLED")
    assert [h["status"] for h in cancelled["history"]][-3:] == [
        "CONFIRMED",
        "ASSEMBLING",
        "CANCELLED",
    ]
    assert cancelled["reason"] == "item damaged"
    assert cancelled["cancellation"]["disposition"] == "WRITE_OFF"
    [told] = await notices(infra, order["id"], "cancelled")
    assert told["reason"] == "item damaged"


async def test_an_admin_return_of_a_completed_order_ends_returned_and_is_on_record(
    infra: Infra,
    mongo: Any,
    order_svc: ServiceProcess,
    customer: tuple[Client, str],
    admin: Client,
):
    client, username = customer
    order = await confirmed(infra, mongo, order_svc, client, username)
    back = {"reason": "не подошёл размер", "disposition": "RESTOCK"}
    status, refused = await admin.post(f"/admin/orders/{order['id']}/return", back)
    assert status == 409 and "current status CONFIRMED" in refused["errorMessage"]

    for step in ("ASSEMBLING", "READY_FOR_PICKUP", "COMPLETED"):
        status, moved = await admin.put(f"/admin/orders/{order['id']}/status", {"status": step})
        assert status == 200 and moved["status"] == step, moved
    status, pending = await admin.post(f"/admin/orders/{order['id']}/return", back)
    assert status == 200 and pending["cancellation"]["kind"] == "RETURN"
    await answer_all(infra, order["id"], "REVERSE")
    returned = await reaches(client, order["id"], "RETURNED")
    assert returned["reason"] == "не подошёл размер"
    await notices(infra, order["id"], "returned")

    status, detail = await admin.get(f"/admin/orders/{order['id']}")
    assert status == 200, detail
    assert detail["order"]["status"] == "RETURNED"
    assert detail["saga"]["state"] == "CANCELLED"
    assert detail["picking"] is None and detail["delivery"] is None  # not answering: null
    done = [(a["action"], a.get("status")) for a in detail["actions"]]
    assert done == [
        ("return", None),
        ("status", "COMPLETED"),
        ("status", "READY_FOR_PICKUP"),
        ("status", "ASSEMBLING"),
    ]
    status, listed = await admin.get(f"/admin/actions?orderId={order['id']}")
    assert status == 200 and listed["total"] == 4
    assert {a["by"] for a in listed["items"]} == {detail["actions"][0]["by"]}


async def test_an_admin_cancels_an_order_on_its_way_through_orchestra_once(
    infra: Infra,
    mongo: Any,
    order_svc: ServiceProcess,
    customer: tuple[Client, str],
    admin: Client,
):
    client, username = customer
    order = await confirmed(infra, mongo, order_svc, client, username)
    await feed(infra, order["id"], "DELIVERING")
    await reaches(client, order["id"], "DELIVERING")
    cancel = {"status": "CANCELLED", "reason": "курьер потерял посылку"}

    status, pending = await admin.put(f"/admin/orders/{order['id']}/status", cancel)
    assert status == 200 and pending["status"] == "DELIVERING", pending
    assert pending["cancellation"]["reason"] == "курьер потерял посылку"
    status, again = await admin.put(f"/admin/orders/{order['id']}/status", cancel)
    assert (status, again) == (200, pending)
    await answer_all(infra, order["id"], "REVERSE")
    cancelled = await reaches(client, order["id"], "CANCELLED")
    assert cancelled["reason"] == "курьер потерял посылку"
    status, listed = await admin.get(f"/admin/actions?orderId={order['id']}")
    assert [(a["action"], a["reason"]) for a in listed["items"]] == [
        ("cancel", "курьер потерял посылку")
    ]


async def test_a_paid_order_that_never_reaches_its_saga_is_cancelled_refunded_and_told(
    infra: Infra,
    mongo: Any,
    order_svc: ServiceProcess,
    orchestra: ServiceProcess,
    customer: tuple[Client, str],
):
    client, username = customer
    lost = datetime.now(UTC) - timedelta(seconds=1)
    order = await checked_out(
        mongo,
        order_svc,
        username,
        status="IN_PROGRESS",
        paymentId="pay-lost",
        handoverDeadline=lost,
    )

    reverses = await answer_all(infra, order["id"], "REVERSE")
    assert reverses["PAYMENT"]["paymentId"] == "pay-lost"
    cancelled = await reaches(client, order["id"], "CANCELLED")
    assert cancelled["reason"] == "the order could not be confirmed in time"
    assert cancelled["history"][-1]["by"] == "order_svc"
    saga = await saga_of(mongo, orchestra, order["id"])
    assert saga["state"] == "CANCELLED" and saga["steps"]["PAYMENT"] == "REVERSED"
    [told] = await notices(infra, order["id"], "cancelled")
    assert told["reason"] == "the order could not be confirmed in time"


async def test_admins_filter_orders_by_status_customer_and_creation_time(
    mongo: Any, order_svc: ServiceProcess, customer: tuple[Client, str], admin: Client
):
    _, username = customer
    old = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
    first = await checked_out(mongo, order_svc, username, createdAt=old)
    second = await checked_out(mongo, order_svc, username, createdAt=old + timedelta(days=2))

    async def ids(query: str) -> list[str]:
        status, page = await admin.get(f"/admin/orders?username={username}&{query}")
        assert status == 200, page
        return [o["id"] for o in page["items"]]

    assert await ids("status=AWAITING_PAYMENT") == [second["id"], first["id"]]
    assert await ids("from=2025-01-11T00:00:00Z") == [second["id"]]
    assert await ids("to=2025-01-11T00:00:00Z") == [first["id"]]
    assert await ids("status=CANCELLED") == []
    status, bad = await admin.get("/admin/orders?from=yesterday")
    assert status == 400 and bad["errorMessage"]


async def test_the_feed_overtaking_the_sagas_outcome_moves_the_order_once_it_is_confirmed(
    infra: Infra, mongo: Any, order_svc: ServiceProcess, customer: tuple[Client, str]
):
    """Store and delivery act on their CONFIRM: when order_svc reads their news before the
    saga's outcome (it was down a while), the news waits for the outcome instead of being lost
    (seen in the chaos run: orders left CONFIRMED with their parcel collected)."""
    client, username = customer
    order = await checked_out(mongo, order_svc, username)
    await paid(infra, order)
    await reaches(client, order["id"], "IN_PROGRESS")
    await feed(infra, order["id"], "ASSEMBLING")
    await feed(infra, order["id"], "READY_FOR_PICKUP", source="delivery_svc")

    async def both_kept() -> bool:
        doc = await mongo[order_svc.name].orders.find_one({"_id": order["id"]})
        return len(doc.get("feedAhead", [])) == 2

    await eventually(both_kept, timeout=WAIT)
    assert (await order_of(client, order["id"]))["status"] == "IN_PROGRESS"
    await answer_all(infra, order["id"], "CONFIRM")
    ready = await reaches(client, order["id"], "READY_FOR_PICKUP")
    assert [h["status"] for h in ready["history"]][-3:] == [
        "CONFIRMED",
        "ASSEMBLING",
        "READY_FOR_PICKUP",
    ]
