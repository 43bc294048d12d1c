"""payment_svc's means on the real broker and database, beside the bank simulator, billing_svc
and auth_svc as processes (and a fake order edge): saved cards kept only as the bank's token,
SBP by QR paid through the bank's signed callback or found by polling, expired codes, and what
`GET /means` says can pay an order."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from pymongo import AsyncMongoClient

from launcher.processes import ServiceProcess
from payment_svc import signing
from schemas import topics
from tests.conftest import start_service
from tests.integration.test_payment import on_topic
from tests.support.fake_order import FakeOrders, fake_orders
from tests.support.infra import Infra
from tests.support.kafka import eventually
from tests.support.payment import (
    GOOD_CARD,
    WEBHOOK_SECRET,
    Customer,
    bank_call,
    dump,
    ledger,
    logged_in,
    moved,
    scan,
    start_bank,
    start_payment,
    until_final,
)

MONGO = AsyncMongoClient[dict[str, object]]


@pytest.fixture(scope="module")
async def bank(infra: Infra) -> AsyncIterator[ServiceProcess]:
    proc = start_bank(infra)
    await proc.wait_ready()
    yield proc
    proc.kill()


@pytest.fixture(scope="module")
async def orders() -> AsyncIterator[FakeOrders]:
    async with fake_orders() as fake:
        yield fake


@pytest.fixture(scope="module")
async def billing(infra: Infra, auth: ServiceProcess) -> AsyncIterator[ServiceProcess]:
    env = {"SAGASHOP_AUTH_URL": auth.url}
    proc = start_service(infra, "billing_svc", Path(tempfile.mkdtemp()), env=env)
    await proc.wait_ready()
    yield proc
    proc.kill()


@pytest.fixture(scope="module")
async def payment(
    infra: Infra,
    auth: ServiceProcess,
    bank: ServiceProcess,
    billing: ServiceProcess,
    orders: FakeOrders,
) -> AsyncIterator[ServiceProcess]:
    proc = start_payment(
        infra,
        auth,
        bank,
        orders.url,
        SAGASHOP_BILLING_URL=billing.url,
        SAGASHOP_QR_TTL_SECONDS="6",
        SAGASHOP_QR_POLL_SECONDS="1",
        SAGASHOP_RECOVERY_INTERVAL_SECONDS="0.5",
    )
    await proc.wait_ready()
    yield proc
    proc.kill()


@pytest.fixture
async def customer(
    auth: ServiceProcess, payment: ServiceProcess, billing: ServiceProcess
) -> AsyncIterator[Customer]:
    c = await logged_in(auth, payment, billing.url)
    yield c
    await c.close()


async def save(customer: Customer, card: dict[str, object] = GOOD_CARD) -> tuple[int, dict]:
    status, body = await customer.post("/means/cards", {"card": card})
    return status, body


async def test_a_saved_card_pays_by_its_token_and_its_number_is_kept_nowhere(
    infra: Infra,
    mongo: MONGO,
    bank: ServiceProcess,
    payment: ServiceProcess,
    orders: FakeOrders,
    customer: Customer,
):
    status, saved = await save(customer)
    assert status == 201, saved
    assert (saved["brand"], saved["last4"], saved["masked"]) == ("VISA", "4242", "**** 4242")
    again, same = await save(customer)
    assert (again, same["id"]) == (200, saved["id"])
    means = (await customer.get("/means"))[1]
    assert [c["id"] for c in means["cards"]] == [saved["id"]]
    before = await ledger(bank)
    order_id = orders.put(customer.session, total=4_500)
    status, paid = await customer.pay(order_id, card=None, meansId=saved["id"])
    assert (status, paid["status"]) == (200, "SUCCEEDED"), paid
    assert moved(before, await ledger(bank))["captured"] == 4_500
    digits = GOOD_CARD["number"].replace(" ", "")  # type: ignore[attr-defined]
    db = mongo[payment.name]
    for name in await db.list_collection_names():
        stored = dump(await db[name].find().to_list())
        assert digits not in stored and "4242 4242" not in stored, name
    assert digits not in await asyncio.to_thread(payment.log_path.read_text)


async def test_pay_with_save_card_remembers_it_and_a_deleted_card_no_longer_pays(
    orders: FakeOrders, customer: Customer
):
    status, paid = await customer.pay(orders.put(customer.session), saveCard=True)
    assert (status, paid["status"]) == (200, "SUCCEEDED")
    [card] = (await customer.get("/means"))[1]["cards"]
    assert card["last4"] == "4242"
    assert (await customer.delete(f"/means/cards/{card['id']}"))[0] == 204
    assert (await customer.get("/means"))[1]["cards"] == []
    status, body = await customer.pay(orders.put(customer.session), card=None, meansId=card["id"])
    assert (status, body) == (404, {"errorMessage": "payment means not found"})
    assert (await customer.delete(f"/means/cards/{card['id']}"))[0] == 404


async def test_someone_elses_saved_card_is_not_found_and_cannot_pay(
    auth: ServiceProcess, payment: ServiceProcess, orders: FakeOrders, customer: Customer
):
    _, saved = await save(customer)
    thief = await logged_in(auth, payment)
    try:
        status, body = await thief.pay(orders.put(thief.session), card=None, meansId=saved["id"])
        assert (status, body) == (404, {"errorMessage": "payment means not found"})
        assert (await thief.delete(f"/means/cards/{saved['id']}"))[0] == 404
    finally:
        await thief.close()


async def test_an_expired_card_cannot_be_saved_and_a_saved_one_that_expired_cannot_pay(
    mongo: MONGO, payment: ServiceProcess, orders: FakeOrders, customer: Customer
):
    status, body = await save(customer, {**GOOD_CARD, "expMonth": 1, "expYear": 2020})
    assert status == 400 and "expired" in body["errorMessage"]
    _, saved = await save(customer)
    last_year = datetime.now(UTC).year - 1
    await mongo[payment.name].cards.update_one(
        {"_id": saved["id"]}, {"$set": {"expYear": last_year}}
    )
    means = (await customer.get("/means?amount=1000"))[1]
    assert means["cards"][0]["expired"] is True and means["cards"][0]["canPay"] is False
    status, body = await customer.pay(orders.put(customer.session), card=None, meansId=saved["id"])
    assert status == 409 and "expired" in body["errorMessage"]


async def test_sbp_answers_a_qr_code_and_the_banks_signed_callback_captures_it(
    infra: Infra,
    bank: ServiceProcess,
    payment: ServiceProcess,
    orders: FakeOrders,
    customer: Customer,
):
    order_id = orders.put(customer.session, total=990)
    status, pending = await customer.pay(order_id, method="QR_PAY", card=None)
    assert (status, pending["status"]) == (202, "PENDING"), pending
    qr = pending["qr"]
    assert qr["payload"] and qr["image"] == f"/payments/{pending['paymentId']}/qr.svg"
    cookies = {"sessionId": customer.session}
    async with (
        aiohttp.ClientSession(cookies=cookies) as http,
        http.get(f"{payment.url}{qr['image']}") as resp,
    ):
        assert resp.status == 200 and resp.content_type == "image/svg+xml"
        assert "<svg" in await resp.text()
    assert (await scan(bank, qr["qrId"]))[0] == 200
    paid = await until_final(customer, pending["paymentId"])
    assert paid["status"] == "SUCCEEDED" and paid["maskedTokenId"] == "SBP QR"
    [event] = await on_topic(infra, topics.PAYMENT_EVENTS, order_id)
    assert event["status"] == "SUCCEEDED"
    log = await asyncio.to_thread(payment.log_path.read_text)
    assert f"bank callback for {pending['paymentId']}" in log
    assert (await scan(bank, qr["qrId"]))[0] == 409  # paid once only


async def test_a_badly_signed_callback_is_refused_and_a_replayed_one_captures_nothing_twice(
    infra: Infra,
    bank: ServiceProcess,
    payment: ServiceProcess,
    orders: FakeOrders,
    customer: Customer,
):
    order_id = orders.put(customer.session, total=1_500)
    _, pending = await customer.pay(order_id, method="QR_PAY", card=None)
    body = dump(
        {
            "idempotencyKey": pending["paymentId"],
            "chargeId": "ch_forged",
            "status": "succeeded",
            "amount": 1_500,
            "at": datetime.now(UTC).isoformat(),
        }
    ).encode()
    now = int(datetime.now(UTC).timestamp())
    async with aiohttp.ClientSession() as http:
        for header in (signing.sign("wrong secret", body, now), None, "t=1,v1=00"):
            headers = {"Content-Type": "application/json"}
            if header:
                headers["X-Bank-Signature"] = header
            async with http.post(f"{payment.url}/bank/callbacks", data=body, headers=headers) as r:
                assert r.status == 401 and "signature" in (await r.json())["errorMessage"]
    assert (await customer.payment(pending["paymentId"]))["status"] == "PENDING"
    status, _ = await scan(bank, pending["qr"]["qrId"])
    assert status == 200
    await until_final(customer, pending["paymentId"])
    real = await bank_call(bank, "GET", f"/charges/{pending['paymentId']}")
    signed = dump(
        {
            "idempotencyKey": pending["paymentId"],
            "chargeId": real[1]["chargeId"],
            "status": "succeeded",
            "amount": 1_500,
            "at": datetime.now(UTC).isoformat(),
        }
    ).encode()
    header = signing.sign(WEBHOOK_SECRET, signed, int(datetime.now(UTC).timestamp()))
    async with aiohttp.ClientSession() as http:
        for _ in range(3):
            hdrs = {"X-Bank-Signature": header, "Content-Type": "application/json"}
            async with http.post(f"{payment.url}/bank/callbacks", data=signed, headers=hdrs) as r:
                assert r.status == 200
    events = await on_topic(infra, topics.PAYMENT_EVENTS, order_id)
    assert [e["status"] for e in events] == ["SUCCEEDED"]


async def test_a_lost_callback_is_recovered_by_polling_the_bank(
    infra: Infra, bank: ServiceProcess, orders: FakeOrders, customer: Customer
):
    order_id = orders.put(customer.session, total=2_100)
    _, pending = await customer.pay(order_id, method="QR_PAY", card=None)
    assert (await bank_call(bank, "PUT", "/config", {"callbackLossRate": 1.0}))[0] == 200
    try:
        assert (await scan(bank, pending["qr"]["qrId"]))[0] == 200
        paid = await until_final(customer, pending["paymentId"])
    finally:
        await bank_call(bank, "PUT", "/config", {"callbackLossRate": 0.0})
    assert paid["status"] == "SUCCEEDED"
    [event] = await on_topic(infra, topics.PAYMENT_EVENTS, order_id)
    assert event["paymentId"] == pending["paymentId"]


async def test_an_unpaid_qr_code_expires_and_the_payment_fails(
    bank: ServiceProcess, orders: FakeOrders, customer: Customer
):
    order_id = orders.put(customer.session, total=700)
    _, pending = await customer.pay(order_id, method="QR_PAY", card=None)
    failed = await until_final(customer, pending["paymentId"], timeout=40)
    assert failed["status"] == "FAILED" and "expired" in failed["errorMessage"]
    status, body = await scan(bank, pending["qr"]["qrId"])
    assert status == 409 and "expired" in body["errorMessage"]
    status, again = await customer.pay(order_id)  # a new attempt may pay the order
    assert (status, again["status"]) == (200, "SUCCEEDED")


async def test_means_say_which_of_them_can_pay_an_order(orders: FakeOrders, customer: Customer):
    await save(customer)
    order_id = orders.put(customer.session, total=50_000)

    async def wallet_listed() -> dict | None:
        body = (await customer.get(f"/means?orderId={order_id}"))[1]
        return body if body.get("wallet") else None

    means = await eventually(wallet_listed)
    assert means["amount"] == 50_000 and means["orderId"] == order_id
    assert means["wallet"] == {
        "balance": 0,
        "currency": "RUB",
        "canPay": False,
        "reason": "not enough money: balance 0, to pay 50000 (kopecks)",
    }
    assert means["cards"][0]["canPay"] is True
    status, body = await customer.get("/means?amount=-5")
    assert status == 400 and "amount" in body["errorMessage"]
    assert (await customer.get("/means?orderId=o-unknown"))[0] == 404
