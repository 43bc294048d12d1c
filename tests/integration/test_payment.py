"""payment_svc on the real broker and database, as its own process beside the bank simulator
and auth_svc (also processes) and a fake order edge: paying by card and SBP, declines and
retries, idempotency keys, one capture per order under concurrency, a lost bank answer and a
SIGKILL between the charge and its record, and the saga's CONFIRM and REVERSE."""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from launcher.processes import ServiceProcess
from schemas import topics
from tests.conftest import start_service
from tests.integration.test_auth_edge import new_user
from tests.integration.test_auth_flows import create_admin
from tests.support.fake_order import FakeOrders, fake_orders
from tests.support.http import Client
from tests.support.infra import Infra
from tests.support.kafka import eventually, publish, read_topic

GOOD_CARD = {"number": "4242 4242 4242 4242", "expMonth": 12, "expYear": 2099, "cvc": "123"}
POOR_CARD = {**GOOD_CARD, "number": "4000000000000002"}


@pytest.fixture(scope="module")
async def bank(infra: Infra) -> AsyncIterator[ServiceProcess]:
    state = Path(tempfile.mkdtemp())
    proc = start_service(
        infra,
        "payment_svc.bank_sim",
        state,
        env={"SAGASHOP_BANK_STATE": str(state / "ledger.jsonl"), "SAGASHOP_BANK_HANG_SECONDS": "4"},
    )
    await proc.wait_ready()
    yield proc
    proc.kill()


@pytest.fixture(scope="module")
async def orders() -> AsyncIterator[FakeOrders]:
    async with fake_orders() as fake:
        yield fake


@pytest.fixture(scope="module")
async def payment(
    infra: Infra, bank: ServiceProcess, auth: ServiceProcess, orders: FakeOrders
) -> AsyncIterator[ServiceProcess]:
    env = {
        "SAGASHOP_BANK_URL": bank.url,
        "SAGASHOP_ORDER_URL": orders.url,
        "SAGASHOP_AUTH_URL": auth.url,
        "SAGASHOP_BANK_TIMEOUT_SECONDS": "1",
        "SAGASHOP_BANK_ATTEMPTS": "2",
        "SAGASHOP_RECOVERY_INTERVAL_SECONDS": "0.5",
        # refunds are made when a REVERSE wakes the refund loop, not by its poll: a poll
        # this slow would fail the refund tests below (they wait 20 s at most)
        "SAGASHOP_REFUND_INTERVAL_SECONDS": "60",
    }
    proc = start_service(infra, "payment_svc", Path(tempfile.mkdtemp()), env=env)
    await proc.wait_ready()
    yield proc
    proc.kill()


class Customer(Client):
    session = ""

    async def pay(self, order_id: str, key: str | None = None, **means: Any) -> tuple[int, Any]:
        body = {"orderId": order_id, "method": "BANK_CARD", "card": GOOD_CARD, **means}
        headers = {"Idempotency-Key": key or str(uuid.uuid4())}
        return await self.post("/pay", body, headers=headers)


async def logged_in(auth: ServiceProcess, payment: ServiceProcess, **user: str) -> Customer:
    person = {**new_user(), **user}
    c = Customer(payment.url)
    if "password" not in user:
        assert (await c.post("/register", person, base=auth.url))[0] == 200
    creds = {"username": person["username"], "password": person["password"]}
    assert (await c.post("/login", creds, base=auth.url))[0] == 200
    c.session = c.cookie("sessionId") or ""
    return c


@pytest.fixture
async def customer(auth: ServiceProcess, payment: ServiceProcess) -> AsyncIterator[Customer]:
    c = await logged_in(auth, payment)
    yield c
    await c.close()


async def on_topic(
    infra: Infra, topic: topics.Topic, order_id: str, expect: int = 1, timeout: float = 20
) -> list[dict[str, Any]]:
    """The messages keyed by `order_id` on `topic`, once at least `expect` are there."""

    async def found() -> list[dict[str, Any]] | None:
        records = await read_topic(infra.kafka_bootstrap, topic.name, expect=10**9, timeout=0.5)
        mine = [json.loads(r.value) for r in records if r.key == order_id.encode()]
        return mine if len(mine) >= expect else None

    result: list[dict[str, Any]] = await eventually(found, timeout=timeout)
    return result


async def ledger(bank: ServiceProcess) -> dict[str, int]:
    async with aiohttp.ClientSession() as http, http.get(f"{bank.url}/ledger") as resp:
        body: dict[str, int] = await resp.json()
        return body


async def configure(bank: ServiceProcess, **config: Any) -> None:
    async with aiohttp.ClientSession() as http, http.put(f"{bank.url}/config", json=config) as r:
        assert r.status == 200


def moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in after}


async def saga_request(
    infra: Infra, order_id: str, kind: str, total: int = 2500, message_id: str | None = None
) -> None:
    """orchestra's CONFIRM or REVERSE to the PAYMENT participant."""
    item = {"id": 1, "productId": 7, "productName": "Bike", "productPrice": total, "quantity": 1}
    body = {
        "orderId": order_id,
        "requestType": kind,
        "confirmator": "PAYMENT",
        "orderItems": [item],
        "total": total,
        "userName": "someone",
    }
    topic = topics.PAYMENT_CONFIRMATIONS.name
    await publish(infra.kafka_bootstrap, topic, body, key=order_id, message_id=message_id)


async def test_paying_by_card_captures_the_total_and_tells_order_svc_and_the_customer(
    infra: Infra, bank: ServiceProcess, orders: FakeOrders, customer: Customer
):
    order_id = orders.put(customer.session, total=2500)
    before = await ledger(bank)
    status, body = await customer.pay(order_id)
    assert status == 200 and body["status"] == "SUCCEEDED", body
    [event] = await on_topic(infra, topics.PAYMENT_EVENTS, order_id)
    assert event["status"] == "SUCCEEDED" and event["paymentId"] == body["paymentId"]
    assert event["amount"] == 2500 and event["currency"] == "RUB"
    [note] = await on_topic(infra, topics.PAYMENT_NOTIFICATIONS, order_id)
    assert {k: note[k] for k in ("requestType", "tokenType", "maskedTokenId", "response")} == {
        "requestType": "CHARGE",
        "tokenType": "BANK_CARD",
        "maskedTokenId": "**** 4242",
        "response": "SUCCESS",
    }
    assert note["username"] and note["timestamp"]
    assert moved(before, await ledger(bank))["captured"] == 2500
    status, again = await customer.pay(order_id)
    assert (status, again) == (409, {"errorMessage": "order already paid"})


async def test_the_owner_and_an_admin_see_a_payment_and_anyone_else_gets_404(
    infra: Infra, auth: ServiceProcess, payment: ServiceProcess, orders: FakeOrders
):
    owner = await logged_in(auth, payment)
    other = await logged_in(auth, payment)
    admin = await logged_in(auth, payment, **create_admin(auth, infra))
    try:
        _, paid = await owner.pay(orders.put(owner.session, total=1200))
        path = f"/payments/{paid['paymentId']}"
        status, seen = await owner.get(path)
        assert status == 200 and seen["amount"] == 1200 and seen["status"] == "SUCCEEDED"
        assert seen["maskedTokenId"] == "**** 4242" and "4242 4242" not in json.dumps(seen)
        assert (await admin.get(path))[0] == 200
        assert await other.get(path) == (404, {"errorMessage": "Payment not found"})
    finally:
        for c in (owner, other, admin):
            await c.close()


async def test_a_declined_card_fails_with_its_reason_and_a_new_key_pays_the_order(
    infra: Infra, orders: FakeOrders, customer: Customer
):
    order_id = orders.put(customer.session)
    status, failed = await customer.pay(order_id, card=POOR_CARD)
    assert (status, failed["status"], failed["errorMessage"]) == (
        200,
        "FAILED",
        "insufficient funds",
    )
    [event] = await on_topic(infra, topics.PAYMENT_EVENTS, order_id)
    assert (event["status"], event["errorMsg"]) == ("FAILED", "insufficient funds")
    [note] = await on_topic(infra, topics.PAYMENT_NOTIFICATIONS, order_id)
    assert (note["response"], note["errorMsg"]) == ("FAIL", "insufficient funds")
    status, paid = await customer.pay(order_id)
    assert status == 200 and paid["status"] == "SUCCEEDED"
    events = await on_topic(infra, topics.PAYMENT_EVENTS, order_id, expect=2)
    assert [e["status"] for e in events] == ["FAILED", "SUCCEEDED"]


async def test_the_same_idempotency_key_sent_again_charges_once_and_answers_the_same_payment(
    bank: ServiceProcess, orders: FakeOrders, customer: Customer
):
    order_id = orders.put(customer.session, total=3100)
    before = await ledger(bank)
    key = str(uuid.uuid4())
    first, second = await asyncio.gather(*(customer.pay(order_id, key=key) for _ in range(2)))
    assert first[1]["paymentId"] == second[1]["paymentId"], (first, second)
    again = await customer.pay(order_id, key=key)
    assert again[0] == 200 and again[1] == {
        "paymentId": first[1]["paymentId"],
        "status": "SUCCEEDED",
        "orderId": order_id,
        "amount": 3100,
    }
    assert moved(before, await ledger(bank))["charges"] == 1
    other_order = orders.put(customer.session)
    status, body = await customer.pay(other_order, key=key)
    assert status == 422 and "another order" in body["errorMessage"]


async def test_pay_needs_a_logged_in_customer_and_an_idempotency_key(
    payment: ServiceProcess, orders: FakeOrders, customer: Customer
):
    order_id = orders.put(customer.session)
    body = {"orderId": order_id, "method": "BANK_CARD", "card": GOOD_CARD}
    status, answer = await customer.post("/pay", body)
    assert (status, answer) == (400, {"errorMessage": "Idempotency-Key header is required"})
    guest = Client(payment.url)
    try:
        status, _ = await guest.post("/pay", body, headers={"Idempotency-Key": "k1"})
        assert status == 401
    finally:
        await guest.close()


async def test_orders_not_awaiting_payment_get_409_and_unknown_or_foreign_ones_404(
    auth: ServiceProcess, payment: ServiceProcess, orders: FakeOrders, customer: Customer
):
    status, body = await customer.pay(orders.put(customer.session, status="NEW"))
    assert status == 409 and "NEW" in body["errorMessage"]
    assert (await customer.pay("o-never-placed"))[0] == 404
    stranger = await logged_in(auth, payment)
    try:
        assert (await stranger.pay(orders.put(customer.session)))[0] == 404
    finally:
        await stranger.close()


async def test_ten_concurrent_payments_of_one_order_capture_it_once(
    infra: Infra, bank: ServiceProcess, orders: FakeOrders, customer: Customer
):
    order_id = orders.put(customer.session, total=4200)
    before = await ledger(bank)
    answers = await asyncio.gather(*(customer.pay(order_id) for _ in range(10)))
    succeeded = [b for s, b in answers if s == 200 and b["status"] == "SUCCEEDED"]
    assert len(succeeded) == 1, answers
    assert all(s == 409 for s, b in answers if b not in succeeded), answers
    assert moved(before, await ledger(bank))["captured"] == 4200
    events = await on_topic(infra, topics.PAYMENT_EVENTS, order_id)
    assert [e["status"] for e in events] == ["SUCCEEDED"]


async def test_a_charge_whose_bank_answer_is_lost_is_recorded_once_by_recovery(
    infra: Infra, bank: ServiceProcess, orders: FakeOrders, customer: Customer
):
    order_id = orders.put(customer.session, total=1700)
    before = await ledger(bank)
    await configure(bank, timeoutRate=1.0)
    try:
        status, pending = await customer.pay(order_id)
    finally:
        await configure(bank, timeoutRate=0.0)
    assert (status, pending["status"]) == (202, "PENDING")
    [event] = await on_topic(infra, topics.PAYMENT_EVENTS, order_id, timeout=30)
    assert event["status"] == "SUCCEEDED" and event["paymentId"] == pending["paymentId"]
    status, seen = await customer.get(f"/payments/{pending['paymentId']}")
    assert seen["status"] == "SUCCEEDED"
    assert moved(before, await ledger(bank))["charges"] == 1


async def test_confirm_succeeds_for_the_paid_total_and_fails_for_another_total(
    infra: Infra, orders: FakeOrders, customer: Customer
):
    order_id = orders.put(customer.session, total=2500)
    assert (await customer.pay(order_id))[1]["status"] == "SUCCEEDED"
    await saga_request(infra, order_id, "CONFIRM", total=2500)
    [ok] = await on_topic(infra, topics.CONFIRMATION_REPLIES, order_id)
    assert ok == {
        "orderId": order_id,
        "requestType": "CONFIRM",
        "confirmator": "PAYMENT",
        "response": "SUCCESS",
    }
    await saga_request(infra, order_id, "CONFIRM", total=2600)
    _, wrong = await on_topic(infra, topics.CONFIRMATION_REPLIES, order_id, expect=2)
    assert wrong["response"] == "FAIL" and "amount mismatch" in wrong["reason"]


async def test_reverse_delivered_twice_refunds_once_right_away_and_answers_success(
    infra: Infra, bank: ServiceProcess, orders: FakeOrders, customer: Customer
):
    """The refund is made as soon as the REVERSE has committed (the refund loop polls only
    every 60 s here), once however many REVERSEs come."""
    order_id = orders.put(customer.session, total=5300)
    _, paid = await customer.pay(order_id)
    before = await ledger(bank)
    for message_id in (f"{order_id}-reverse", f"{order_id}-reverse", None):  # None: a new id
        await saga_request(infra, order_id, "REVERSE", 5300, message_id=message_id)

    async def refunded() -> bool:
        return (await customer.get(f"/payments/{paid['paymentId']}"))[1]["status"] == "REFUNDED"

    await eventually(refunded)
    await asyncio.sleep(1.0)  # time for a second refund, were there going to be one
    replies = await on_topic(infra, topics.CONFIRMATION_REPLIES, order_id)
    assert {(r["requestType"], r["response"]) for r in replies} == {("REVERSE", "SUCCESS")}
    assert moved(before, await ledger(bank))["refunded"] == 5300
    assert moved(before, await ledger(bank))["refunds"] == 1
    notes = await on_topic(infra, topics.PAYMENT_NOTIFICATIONS, order_id, expect=2)
    assert [n["requestType"] for n in notes] == ["CHARGE", "REVERSE"]
    await saga_request(infra, order_id, "CONFIRM", total=5300)
    confirm = await on_topic(infra, topics.CONFIRMATION_REPLIES, order_id, expect=len(replies) + 1)
    assert confirm[-1]["requestType"] == "CONFIRM" and confirm[-1]["response"] == "FAIL"


async def test_reverse_before_confirm_makes_confirm_fail_and_the_order_unpayable(
    infra: Infra, orders: FakeOrders, customer: Customer
):
    order_id = orders.put(customer.session)
    await saga_request(infra, order_id, "REVERSE")
    [reversed_] = await on_topic(infra, topics.CONFIRMATION_REPLIES, order_id)
    assert (reversed_["requestType"], reversed_["response"]) == ("REVERSE", "SUCCESS")
    await saga_request(infra, order_id, "CONFIRM")
    _, confirm = await on_topic(infra, topics.CONFIRMATION_REPLIES, order_id, expect=2)
    assert (confirm["requestType"], confirm["response"]) == ("CONFIRM", "FAIL")
    assert "reversed" in confirm["reason"]
    status, body = await customer.pay(order_id)
    assert status == 409 and "reversed" in body["errorMessage"]


async def test_killed_between_the_bank_charge_and_its_record_it_records_the_charge_once(
    infra: Infra,
    bank: ServiceProcess,
    payment: ServiceProcess,
    orders: FakeOrders,
    customer: Customer,
):
    # last in the module: after each restart the consumer group takes ~11 s to rebalance
    payment.restart(SAGASHOP_FAULTS="payment.after_charge")
    await payment.wait_ready()
    order_id = orders.put(customer.session, total=6400)
    before = await ledger(bank)
    key = str(uuid.uuid4())
    with pytest.raises(aiohttp.ClientError):
        await customer.pay(order_id, key=key)
    await eventually(lambda: asyncio.to_thread(lambda: not payment.alive()), timeout=5)
    assert moved(before, await ledger(bank))["charges"] == 1
    payment.restart()
    await payment.wait_ready()
    [event] = await on_topic(infra, topics.PAYMENT_EVENTS, order_id, timeout=30)
    assert event["status"] == "SUCCEEDED"
    assert (await customer.pay(order_id, key=key))[1]["status"] == "SUCCEEDED"
    await asyncio.sleep(1.5)  # another recovery round would show up as a second event
    assert len(await on_topic(infra, topics.PAYMENT_EVENTS, order_id)) == 1
    assert moved(before, await ledger(bank))["charges"] == 1
