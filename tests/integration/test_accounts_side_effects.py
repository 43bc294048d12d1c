"""What a registration causes in billing and notification, on the real broker and database:
a wallet, a notification account and exactly one greeting SMS, however often the event is
delivered and wherever the notification process is killed."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from launcher.processes import ServiceProcess
from schemas import topics
from schemas.saga import SagaNotification, SagaResponse
from tests.conftest import SpawnService
from tests.support.accounts import (
    BILLING,
    new_user,
    register,
    sent,
    sent_greeting,
    sent_to,
    start_notification,
)
from tests.support.infra import Infra
from tests.support.kafka import eventually, publish_all


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "sent"


async def handled(mongo, proc: ServiceProcess, message_id: str) -> None:
    key = f"{proc.name}.{topics.USER_REGISTERED.name}:{message_id}"
    await eventually(lambda: mongo[proc.name].inbox.find_one({"_id": key}))


async def died(proc: ServiceProcess) -> None:
    await eventually(lambda: asyncio.sleep(0, result=not proc.alive()), timeout=30)


def assert_no_phone_got_two_sms(outbox: Path) -> None:
    twice = {to: n for to, n in Counter(line["to"] for line in sent(outbox)).items() if n > 1}
    assert twice == {}


async def test_a_registered_user_gets_an_empty_rouble_wallet_and_one_greeting_sms_with_a_promo(
    infra: Infra, spawn: SpawnService, mongo, outbox: Path
) -> None:
    billing, notification = spawn(BILLING), start_notification(spawn, outbox)
    await asyncio.gather(billing.wait_ready(), notification.wait_ready())
    user = new_user()
    await register(infra, user)

    wallets = mongo[billing.name].wallets
    wallet = await eventually(lambda: wallets.find_one({"_id": user["username"]}))
    assert (wallet["balance"], wallet["currency"], wallet["version"]) == (0, "RUB", 0)
    greeting = await sent_greeting(mongo, notification, user["username"])
    account = await mongo[notification.name].accounts.find_one({"_id": user["username"]})
    assert account["channels"] == {"email": user["email"], "sms": user["phone"]}

    [sms] = sent_to(outbox, user["phone"])
    promo = uuid.UUID(greeting["payload"]["promoId"])
    assert promo.version == 4
    assert greeting["payload"] == {"type": "sms", "userPhone": user["phone"], "promoId": str(promo)}
    assert str(promo) in sms["text"]
    assert (sms["idempotencyKey"], sms["providerId"]) == (greeting["_id"], greeting["providerId"])


async def test_a_repeated_registration_keeps_the_wallet_and_sends_no_second_greeting(
    infra: Infra, spawn: SpawnService, mongo, outbox: Path
) -> None:
    billing, notification = spawn(BILLING), start_notification(spawn, outbox)
    await asyncio.gather(billing.wait_ready(), notification.wait_ready())
    user = new_user()
    first = await register(infra, user)
    wallets = mongo[billing.name].wallets
    await eventually(lambda: wallets.find_one({"_id": user["username"]}))
    greeting = await sent_greeting(mongo, notification, user["username"])
    # money arrives before the event is seen again: a second event must not reset it
    await wallets.update_one({"_id": user["username"]}, {"$set": {"balance": 500, "version": 1}})

    await register(infra, user, message_id=first)  # the same message redelivered
    second = await register(infra, user)  # the same fact, published again
    await handled(mongo, billing, second)
    await handled(mongo, notification, second)
    await asyncio.sleep(1.5)  # room for a second SMS to show up if there were one

    wallet = await wallets.find_one({"_id": user["username"]})
    assert (wallet["balance"], wallet["version"]) == (500, 1)
    notifications = mongo[notification.name].notifications
    assert await notifications.count_documents({"username": user["username"]}) == 1
    again = await notifications.find_one({"_id": greeting["_id"]})
    assert again["payload"]["promoId"] == greeting["payload"]["promoId"]
    assert len(sent_to(outbox, user["phone"])) == 1


async def test_a_notification_process_killed_right_after_a_commit_still_greets_each_user_once(
    infra: Infra, spawn: SpawnService, mongo, outbox: Path
) -> None:
    user = new_user()
    await register(infra, user)
    notification = start_notification(spawn, outbox, SAGASHOP_FAULTS="outbox.after_commit")
    await died(notification)  # committed a queued greeting, then died before the offset commit

    notification.restart()  # without the fault
    await notification.wait_ready()
    await sent_greeting(mongo, notification, user["username"])
    await asyncio.sleep(1.5)

    assert len(sent_to(outbox, user["phone"])) == 1
    assert_no_phone_got_two_sms(outbox)
    notifications = mongo[notification.name].notifications
    assert await notifications.count_documents({"username": user["username"]}) == 1


async def test_a_sender_killed_between_sending_an_sms_and_recording_it_does_not_send_it_again(
    infra: Infra, spawn: SpawnService, mongo, outbox: Path
) -> None:
    user = new_user()
    await register(infra, user)
    notification = start_notification(spawn, outbox, SAGASHOP_FAULTS="notification.after_send")
    await died(notification)
    notifications = mongo[notification.name].notifications
    lines = {line["idempotencyKey"]: line for line in sent(outbox)}
    in_flight = await notifications.find({"status": "SENDING"}).to_list()
    assert in_flight, "the process died while sending, before recording the result"
    # the backlog of every user registered in this test session is sent concurrently: the
    # send that tripped the fault is among those in flight with a line at the gateway
    crashed = [n["_id"] for n in in_flight if n["_id"] in lines]

    notification.restart()  # without the fault; the dead sender's claim runs out
    await notification.wait_ready()
    await sent_greeting(mongo, notification, user["username"])
    for nid in crashed:
        doc = await eventually(
            lambda nid=nid: notifications.find_one({"_id": nid, "status": "SENT"})
        )
        assert doc["providerId"] == lines[nid]["providerId"]
    await asyncio.sleep(1.5)
    assert_no_phone_got_two_sms(outbox)
    assert len(sent_to(outbox, user["phone"])) == 1


async def test_order_outcomes_fetched_in_one_batch_each_email_their_own_user_once(
    infra: Infra, spawn: SpawnService, mongo, outbox: Path
) -> None:
    notification = start_notification(spawn, outbox)
    await notification.wait_ready()
    users = [new_user() for _ in range(3)]
    for user in users:
        await register(infra, user)
    for user in users:  # their notification accounts (and addresses) exist
        await sent_greeting(mongo, notification, user["username"])

    now = datetime.now(UTC)
    orders = {  # the first user has two orders in the batch: its account is read for both
        f"o-{uuid.uuid4().hex[:8]}": (user, response)
        for user, response in [
            (users[0], SagaResponse.SUCCESS),
            (users[0], SagaResponse.FAIL),
            (users[1], SagaResponse.SUCCESS),
            (users[2], SagaResponse.FAIL),
        ]
    }
    batch = [
        (
            order_id,
            SagaNotification(
                order_id=order_id, username=user["username"], response=response, timestamp=now
            ).to_wire(),
            str(uuid.uuid4()),
        )
        for order_id, (user, response) in orders.items()
    ]
    await publish_all(infra.kafka_bootstrap, topics.SAGA_NOTIFICATIONS.name, batch)

    def emails() -> list[dict[str, str]]:
        return [line for line in sent(outbox, "email") if "Заказ o-" in line["body"]]

    await eventually(lambda: asyncio.sleep(0, result=len(emails()) >= len(orders)), timeout=30)
    await asyncio.sleep(1.0)  # nothing more comes
    got = {(line["to"], line["subject"], line["body"].split()[1]) for line in emails()}
    assert len(emails()) == len(orders)
    subjects = {  # notification_svc/templates/order_outcome.j2
        SagaResponse.SUCCESS: "Заказ {} подтверждён",
        SagaResponse.FAIL: "Заказ {} отменён",
    }
    assert got == {
        (u["email"], subjects[r].format(order_id), order_id) for order_id, (u, r) in orders.items()
    }


async def test_an_order_outcome_delivered_twice_emails_once_without_an_inbox_record(
    infra: Infra, spawn: SpawnService, mongo, outbox: Path
) -> None:
    notification = start_notification(spawn, outbox)
    await notification.wait_ready()
    user = new_user()
    await register(infra, user)
    await sent_greeting(mongo, notification, user["username"])
    order_id = f"o-{uuid.uuid4().hex[:8]}"
    body = SagaNotification(
        order_id=order_id,
        username=user["username"],
        response=SagaResponse.SUCCESS,
        timestamp=datetime.now(UTC),
    ).to_wire()
    message_id = str(uuid.uuid4())

    def emails() -> list[dict[str, str]]:
        return [line for line in sent(outbox, "email") if order_id in line["body"]]

    await publish_all(
        infra.kafka_bootstrap, topics.SAGA_NOTIFICATIONS.name, [(order_id, body, message_id)]
    )
    await eventually(lambda: asyncio.sleep(0, result=len(emails()) == 1), timeout=30)
    # the same message redelivered: the notification's id (from the order) is there already
    await publish_all(
        infra.kafka_bootstrap, topics.SAGA_NOTIFICATIONS.name, [(order_id, body, message_id)]
    )
    await asyncio.sleep(1.5)  # room for a second e-mail to show up if there were one

    assert len(emails()) == 1
    db = mongo[notification.name]
    assert await db.notifications.count_documents({"payload.orderId": order_id}) == 1
    # its one write is keyed by the order: the consumer records no claim for it
    claim = f"{notification.name}.{topics.SAGA_NOTIFICATIONS.name}:{message_id}"
    assert await db.inbox.find_one({"_id": claim}) is None
