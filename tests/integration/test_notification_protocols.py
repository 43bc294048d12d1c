"""notification_svc sends through real protocols: e-mail over SMTP to the launcher's SMTP
server (read back as MIME: recipient, subject, both parts, amounts), SMS through the gateway
simulator (its receipts recorded); temporary refusals and dropped connections are retried,
a permanent refusal is recorded and not retried, a crash between the server's 250 and our
record leaves one message, and the customer's channel choice is kept."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas import topics
from tests.support.accounts import new_user, register
from tests.support.fake_auth import FakeAuth, fake_auth
from tests.support.infra import Infra
from tests.support.kafka import eventually, publish
from tests.support.notification_protocols import (
    Protocols,
    call,
    configure,
    mail_to,
    sms_to,
    start,
)

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def auth() -> AsyncIterator[FakeAuth]:
    async with fake_auth() as provided:
        yield provided


@pytest.fixture(scope="module")
async def system(
    infra: Infra, auth: FakeAuth, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Protocols]:
    protocols = start(infra, tmp_path_factory.mktemp("protocols"), auth.url)
    procs = (protocols.mail, protocols.sms, protocols.notification)
    for proc in procs:
        await proc.wait_ready(60)
    yield protocols
    for proc in procs:
        proc.kill()


def order_notice(email: str, username: str, **overrides: Any) -> dict[str, Any]:
    return {
        "type": "email",
        "userEmail": email,
        "notificationType": "requires_payment",
        "orderNum": f"A-{uuid.uuid4().hex[:6]}",
        "orderItems": [{"name": "Велосипед", "cost": 1_234_500}, {"name": "Звонок", "cost": 9_950}],
        "deliveryType": "courier",
        "deliveryAddress": {"fullAddress": "Москва, ул. Тверская, 1"},
        "username": username,
        **overrides,
    }


async def notify_order(infra: Infra, body: dict[str, Any]) -> None:
    await publish(
        infra.kafka_bootstrap, topics.ORDER_NOTIFICATIONS.name, body, key=body["orderNum"]
    )


async def notifications_of(
    system: Protocols, auth: FakeAuth, username: str
) -> list[dict[str, Any]]:
    cookies = {"sessionId": auth.login(username)}
    status, page = await call("GET", f"{system.notification.url}/notifications", cookies=cookies)
    assert status == 200, page
    return list(page["items"])


async def test_an_order_email_arrives_over_smtp_as_mime_with_text_html_items_and_rubles(
    system: Protocols, infra: Infra
):
    user = new_user()
    body = order_notice(user["email"], user["username"])
    await notify_order(infra, body)

    [mail] = await mail_to(system.sent, user["email"])
    assert mail["to"] == user["email"]
    assert "sagashop" in mail["from"] and "shop@sagashop.local" in mail["from"]
    assert mail["subject"] == f"Заказ {body['orderNum']} ожидает оплаты"
    for part in (mail["body"], mail["html"]):
        assert "Велосипед" in part and "12\u00a0345,00\u00a0₽" in part
        assert "12\u00a0444,50\u00a0₽" in part  # the total
        assert "Москва, ул. Тверская, 1" in part
    assert mail["html"].lstrip().startswith("<!DOCTYPE html>")
    assert mail["messageId"].endswith("@notifications.sagashop>")


async def test_an_sms_goes_through_the_gateway_and_its_delivery_receipt_is_recorded(
    system: Protocols, infra: Infra, auth: FakeAuth
):
    user = new_user()
    await register(infra, user)

    [sms] = await eventually(lambda: sms_to(system.sms, user["phone"]))
    assert "промокод" in sms["text"]

    async def delivered() -> dict[str, Any] | None:
        found = await notifications_of(system, auth, user["username"])
        return found[0] if found and found[0]["delivery"] == "delivered" else None

    shown = await eventually(delivered)
    assert (shown["channel"], shown["status"], shown["kind"]) == ("sms", "SENT", "registration")


async def test_a_refusing_or_dropping_smtp_server_is_tried_again_until_the_mail_arrives(
    system: Protocols, infra: Infra
):
    await configure(system.mail, tempfail_next=1, drop_next=1)
    user = new_user()
    await notify_order(infra, order_notice(user["email"], user["username"]))

    [mail] = await mail_to(system.sent, user["email"])
    assert "ожидает оплаты" in mail["subject"]
    assert (await configure(system.mail))["tempfail_next"] == 0  # both refusals were used up


async def test_a_busy_sms_gateway_is_tried_again(system: Protocols, infra: Infra):
    await configure(system.sms, error_next=2)
    user = new_user()
    await register(infra, user)
    [sms] = await eventually(lambda: sms_to(system.sms, user["phone"]), timeout=30)
    assert user["username"] not in sms["text"]  # the 003 greeting: the promo code only


async def test_a_mailbox_the_server_refuses_for_good_is_recorded_failed_and_not_retried(
    system: Protocols, infra: Infra, auth: FakeAuth
):
    await configure(system.mail, reject_domains=["invalid", "closed.example.com"])
    user = new_user()
    await notify_order(infra, order_notice("nobody@closed.example.com", user["username"]))

    async def failed() -> dict[str, Any] | None:
        found = await notifications_of(system, auth, user["username"])
        return found[0] if found and found[0]["status"] == "FAILED" else None

    shown = await eventually(failed)
    assert "550" in shown["errorMessage"] and shown["channel"] == "email"
    doc = await notification_doc(infra, system, shown["id"])
    assert doc["attempts"] == 1


async def notification_doc(infra: Infra, system: Protocols, notification_id: str) -> dict[str, Any]:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url)
    try:
        doc = await client[system.notification.name].notifications.find_one(
            {"_id": notification_id}
        )
    finally:
        await client.close()
    assert doc is not None
    return doc


async def test_a_crash_between_the_servers_250_and_our_record_leaves_one_email(
    system: Protocols, infra: Infra
):
    user = new_user()
    system.notification.restart(SAGASHOP_FAULTS="notification.after_send")
    await system.notification.wait_ready(60)
    await notify_order(infra, order_notice(user["email"], user["username"]))
    await eventually(lambda: _dead(system), timeout=30)  # killed right after the 250
    assert len(await mail_to(system.sent, user["email"])) == 1

    duplicates = (await configure(system.mail))["duplicates"]
    system.notification.restart()
    await system.notification.wait_ready(60)

    async def resent() -> bool:
        return (await configure(system.mail))["duplicates"] > duplicates

    await eventually(resent, timeout=30)  # the same Message-ID came again after the crash
    assert len(await mail_to(system.sent, user["email"])) == 1


async def _dead(system: Protocols) -> bool:
    return not system.notification.alive()


async def test_a_customer_who_turned_email_off_gets_no_order_email_but_still_gets_a_code(
    system: Protocols, infra: Infra, auth: FakeAuth
):
    user = new_user()
    await register(infra, user)
    cookies = {"sessionId": auth.login(user["username"])}
    url = f"{system.notification.url}/notifications/preferences"

    async def account() -> bool:
        return (await call("GET", url, cookies=cookies))[0] == 200

    await eventually(account)
    status, chosen = await call("PUT", url, {"channels": ["sms"]}, cookies=cookies)
    assert status == 200 and chosen["channels"] == ["sms"], chosen
    assert chosen["addresses"]["email"] == user["email"]
    status, refused = await call("PUT", url, {"channels": ["pigeon"]}, cookies=cookies)
    assert status == 400 and "errorMessage" in refused

    await notify_order(infra, order_notice(user["email"], user["username"]))
    code = {
        "username": user["username"],
        "kind": "verification_code",
        "channel": "email",
        "userEmail": user["email"],
        "secret": "482913",
        "expiresAt": (datetime.now(UTC) + timedelta(minutes=10)).isoformat(),
    }
    await publish(infra.kafka_bootstrap, topics.AUTH_NOTIFICATIONS.name, code, key=user["username"])

    [mail] = await mail_to(system.sent, user["email"])
    assert "482913" in mail["body"] and "482913" in mail["html"]
    kinds = {n["kind"]: n for n in await notifications_of(system, auth, user["username"])}
    assert kinds["order_status"]["status"] == "SKIPPED"
    assert kinds["order_status"]["delivery"] == "skipped"
