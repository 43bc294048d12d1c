"""Money that moves through billing's ledger, on the real broker and database with the bank
simulator, billing_svc, auth_svc and payment_svc as processes (and a fake order edge): wallet
top-ups by card and SBP credited once, wallet and gift-card payments debited through billing
(short balances refused, concurrent payments never overdrawing), and refunds — the saga's and
an admin's partial ones — back to the means that paid."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from launcher.processes import ServiceProcess
from tests.conftest import start_service
from tests.integration.test_auth_flows import create_admin
from tests.integration.test_payment import saga_request
from tests.support.billing import deliveries_of, issue_request, send_issue
from tests.support.fake_order import FakeOrders, fake_orders
from tests.support.infra import Infra
from tests.support.kafka import eventually
from tests.support.payment import (
    GOOD_CARD,
    Customer,
    ledger,
    logged_in,
    moved,
    scan,
    start_bank,
    start_payment,
    until_final,
)


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
        SAGASHOP_BILLING_WAIT_SECONDS="20",
        SAGASHOP_QR_POLL_SECONDS="1",
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


@pytest.fixture(scope="module")
async def admin(
    infra: Infra, auth: ServiceProcess, payment: ServiceProcess, billing: ServiceProcess
) -> AsyncIterator[Customer]:
    c = await logged_in(auth, payment, billing.url, **create_admin(auth, infra))
    yield c
    await c.close()


async def balance_becomes(customer: Customer, expected: int) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        wallet = await customer.wallet()
        return wallet if wallet and wallet["balance"] == expected else None

    result: dict[str, Any] = await eventually(reached, timeout=30)
    return result


async def topped_up(customer: Customer, amount: int) -> None:
    status, paid = await customer.top_up(amount)
    assert (status, paid["status"]) == (200, "SUCCEEDED"), paid
    await balance_becomes(customer, amount)


async def refund(admin: Customer, payment_id: str, amount: int, key: str | None = None) -> Any:
    body = {"paymentId": payment_id, "amount": amount, "reason": "goodwill"}
    headers = {"Idempotency-Key": key or str(uuid.uuid4())}
    return await admin.post("/refunds", body, headers=headers)


async def test_a_card_top_up_is_credited_to_the_wallet_once(
    bank: ServiceProcess, customer: Customer
):
    before = await ledger(bank)
    key = str(uuid.uuid4())
    status, paid = await customer.top_up(100_000, key=key)
    assert (status, paid["status"]) == (200, "SUCCEEDED"), paid
    assert paid["orderId"].startswith("top-up-") and paid["amount"] == 100_000
    wallet = await balance_becomes(customer, 100_000)
    assert [(e["amount"], e["reason"]) for e in wallet["entries"]] == [(100_000, "TOP_UP")]
    again = await customer.top_up(100_000, key=key)
    assert again[1]["paymentId"] == paid["paymentId"]
    await asyncio.sleep(1.0)  # time for a second credit, were there going to be one
    assert (await balance_becomes(customer, 100_000))["entries"] == wallet["entries"]
    assert moved(before, await ledger(bank))["captured"] == 100_000
    seen = await customer.payment(paid["paymentId"])
    assert seen["purpose"] == "TOP_UP" and seen["method"] == "BANK_CARD"


async def test_an_sbp_top_up_is_credited_once_the_qr_code_is_paid(
    bank: ServiceProcess, customer: Customer
):
    status, pending = await customer.top_up(25_000, method="QR_PAY", card=None)
    assert (status, pending["status"]) == (202, "PENDING")
    assert (await balance_becomes(customer, 0))["entries"] == []
    assert (await scan(bank, pending["qr"]["qrId"]))[0] == 200
    assert (await until_final(customer, pending["paymentId"]))["status"] == "SUCCEEDED"
    await balance_becomes(customer, 25_000)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -100}, "amount"),
        ({"amount": 100.0}, "amount"),
        ({"amount": 9_999}, "a top-up is from 10000"),
        ({"amount": 10_000_001}, "a top-up is from"),
        ({"amount": 50_000, "method": "WALLET"}, "BANK_CARD or QR_PAY"),
        ({"amount": 50_000, "card": None}, "card"),
    ],
)
async def test_a_top_up_out_of_bounds_or_without_means_is_refused_and_credits_nothing(
    customer: Customer, body: dict[str, Any], message: str
):
    full = {"method": "BANK_CARD", "card": GOOD_CARD, **body}
    status, answer = await customer.post(
        "/top-ups", full, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert status == 400 and message in answer["errorMessage"], answer
    assert (await balance_becomes(customer, 0))["entries"] == []


async def test_a_wallet_pays_an_order_and_a_short_wallet_is_refused_with_nothing_moved(
    orders: FakeOrders, customer: Customer
):
    await topped_up(customer, 50_000)
    status, paid = await customer.pay(
        orders.put(customer.session, total=30_000), method="WALLET", card=None
    )
    assert (status, paid["status"]) == (200, "SUCCEEDED"), paid
    wallet = await balance_becomes(customer, 20_000)
    assert [e["amount"] for e in wallet["entries"]] == [-30_000, 50_000]
    status, body = await customer.pay(
        orders.put(customer.session, total=20_001), method="WALLET", card=None
    )
    assert status == 409 and "not enough money in the wallet" in body["errorMessage"]
    assert (await balance_becomes(customer, 20_000))["entries"] == wallet["entries"]


async def test_twenty_concurrent_wallet_payments_of_100_against_1000_exactly_ten_succeed(
    orders: FakeOrders, customer: Customer
):
    await topped_up(customer, 100_000)
    order_ids = [orders.put(customer.session, total=10_000) for _ in range(20)]
    answers = await asyncio.gather(
        *(customer.pay(o, method="WALLET", card=None) for o in order_ids)
    )
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * 10 + [409] * 10, answers
    assert all(b["status"] == "SUCCEEDED" for s, b in answers if s == 200)
    assert all("not enough money" in b["errorMessage"] for s, b in answers if s == 409)
    wallet = await balance_becomes(customer, 0)
    assert sum(e["amount"] for e in wallet["entries"]) == 0


async def test_a_gift_card_activated_by_the_donee_pays_an_order_and_is_foreign_to_others(
    infra: Infra,
    auth: ServiceProcess,
    payment: ServiceProcess,
    billing: ServiceProcess,
    orders: FakeOrders,
    customer: Customer,
):
    request = issue_request("someone-who-bought-it", amount=60_000)
    await send_issue(infra, request)
    [delivery] = await eventually(lambda: deliveries_of(infra, request["orderId"]), timeout=30)
    status, card = await customer.post(
        "/gift-cards/activate", {"code": delivery["activationCode"]}, base=customer.billing
    )
    assert (status, card["balance"]) == (200, 60_000), card
    means = (await customer.get("/means"))[1]
    assert [(g["id"], g["balance"]) for g in means["giftCards"]] == [(card["id"], 60_000)]
    order_id = orders.put(customer.session, total=45_000)
    status, paid = await customer.pay(order_id, method="GIFT_CARD", card=None, meansId=card["id"])
    assert (status, paid["status"]) == (200, "SUCCEEDED"), paid
    seen = await customer.payment(paid["paymentId"])
    assert seen["maskedTokenId"] == f"GC-****-{card['number'][-4:]}"
    cards = (await customer.get("/gift-cards", base=customer.billing))[1]["items"]
    assert cards[0]["balance"] == 15_000
    status, body = await customer.pay(
        orders.put(customer.session, total=15_001),
        method="GIFT_CARD",
        card=None,
        meansId=card["id"],
    )
    assert status == 409 and "not enough money on the gift card" in body["errorMessage"]
    other = await logged_in(auth, payment, billing.url)
    try:
        status, body = await other.pay(
            orders.put(other.session, total=100), method="GIFT_CARD", card=None, meansId=card["id"]
        )
        assert (status, body) == (404, {"errorMessage": "payment means not found"})
    finally:
        await other.close()


async def test_a_reversed_wallet_payment_comes_back_to_the_wallet_once(
    infra: Infra, orders: FakeOrders, customer: Customer
):
    await topped_up(customer, 40_000)
    order_id = orders.put(customer.session, total=40_000)
    _, paid = await customer.pay(order_id, method="WALLET", card=None)
    assert paid["status"] == "SUCCEEDED"
    await balance_becomes(customer, 0)
    for message_id in (f"{order_id}-reverse", f"{order_id}-reverse", None):
        await saga_request(infra, order_id, "REVERSE", 40_000, message_id=message_id)
    wallet = await balance_becomes(customer, 40_000)
    assert [e["reason"] for e in wallet["entries"]] == ["REFUND", "PAYMENT", "TOP_UP"]

    async def refunded() -> dict[str, Any] | None:
        seen = await customer.payment(paid["paymentId"])
        return seen if seen["status"] == "REFUNDED" else None

    assert (await eventually(refunded))["refunded"] == 40_000
    await asyncio.sleep(1.0)  # time for a second credit, were there going to be one
    assert (await balance_becomes(customer, 40_000))["entries"] == wallet["entries"]


async def test_an_admin_refunds_part_of_a_card_payment_never_more_than_is_left(
    bank: ServiceProcess, orders: FakeOrders, customer: Customer, admin: Customer
):
    _, paid = await customer.pay(orders.put(customer.session, total=5_000))
    before = await ledger(bank)
    key = str(uuid.uuid4())
    status, first = await refund(admin, paid["paymentId"], 1_000, key=key)
    assert (status, first["status"], first["amount"]) == (201, "PENDING", 1_000), first
    status, same = await refund(admin, paid["paymentId"], 1_000, key=key)
    assert (status, same["refundId"]) == (200, first["refundId"])
    status, body = await refund(admin, paid["paymentId"], 4_001)
    assert status == 409 and "left of the payment (4000 kopecks)" in body["errorMessage"]

    async def done() -> dict[str, Any] | None:
        seen = (await customer.get(f"/refunds/{first['refundId']}"))[1]
        return seen if seen["status"] == "SUCCEEDED" else None

    await eventually(done, timeout=30)
    assert moved(before, await ledger(bank))["refunded"] == 1_000
    assert (await customer.payment(paid["paymentId"]))["refunded"] == 1_000
    assert (await refund(admin, paid["paymentId"], 4_000))[0] == 201
    assert (await refund(admin, paid["paymentId"], 1))[0] == 409
    status, body = await refund(customer, paid["paymentId"], 1)
    assert status == 403


async def test_an_admin_refund_of_a_wallet_payment_goes_back_to_the_wallet(
    orders: FakeOrders, customer: Customer, admin: Customer
):
    await topped_up(customer, 30_000)
    _, paid = await customer.pay(
        orders.put(customer.session, total=30_000), method="WALLET", card=None
    )
    await balance_becomes(customer, 0)
    status, _ = await refund(admin, paid["paymentId"], 12_500)
    assert status == 201
    wallet = await balance_becomes(customer, 12_500)
    assert wallet["entries"][0]["reason"] == "REFUND"
