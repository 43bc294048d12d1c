"""Seed 001 scenarios 6-9 on the running system over HTTP: paying by wallet, saved card, SBP QR
code and gift card; topping the wallet up; buying, e-mailing and activating a gift card; an
admin's partial refund; and a wallet that never goes below zero however many payments race."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import SYSTEM_ENV, System
from tests.support.kafka import eventually
from tests.support.money import (
    NewShopper,
    bank_totals,
    mail_about,
    make_admin,
    registered_shoppers,
    wallet_reaches,
)
from tests.support.systems import Systems
from trials.shoppers.inbox import wait_for_codes
from trials.shoppers.shopper import FINAL, EdgeError, Shopper

# orders wait a minute for their payment: the race below checks twenty orders out first (one
# customer, so the cap on orders awaiting payment is lifted for it)
MONEY_ENV = {
    **SYSTEM_ENV,
    "SAGASHOP_PAYMENT_TIMEOUT_SECONDS": "60",
    "SAGASHOP_MAX_UNPAID_ORDERS": "20",
}


@pytest.fixture(scope="module")
async def system(systems: Systems) -> System:
    return System(await systems.acquire(MONEY_ENV))


@pytest.fixture
async def shoppers(system: System) -> AsyncIterator[NewShopper]:
    async with registered_shoppers(system.urls) as new:
        yield new


@pytest.fixture
def sent(system: System) -> Path:
    return system.stack.state / "sent"


async def awaiting_payment(system: System, s: Shopper, price: int) -> dict[str, Any]:
    product = await system.add_product(f"Товар {uuid.uuid4().hex[:8]}", price, {"msk-1": 5})
    order = await s.checkout(await s.place(product), "pickup")
    assert order["status"] == "AWAITING_PAYMENT" and order["total"] == price
    return order


async def test_a_card_top_up_then_a_wallet_payment_show_the_balance_and_email_the_payer(
    system: System, shoppers: NewShopper, sent: Path
):
    s = await shoppers()
    assert (await wallet_reaches(s, 0))["entries"] == []
    top_up = await s.top_up(50_000)
    assert top_up["status"] == "SUCCEEDED", top_up
    await wallet_reaches(s, 50_000)
    order = await awaiting_payment(system, s, 30_000)
    means = await s.means(order["id"])
    assert means["wallet"]["balance"] == 50_000 and means["wallet"]["canPay"] is True

    paid = await s.pay(order, method="WALLET")
    assert paid["status"] == "SUCCEEDED", paid
    assert (await s.wait_status(order["id"], FINAL, timeout=30))["status"] == "CONFIRMED"
    wallet = await wallet_reaches(s, 20_000)
    assert [(e["reason"], e["amount"]) for e in wallet["entries"]] == [
        ("PAYMENT", -30_000),
        ("TOP_UP", 50_000),
    ]
    mail = await mail_about(sent, s.email, order["id"], "успешно")
    assert "WALLET" in mail["body"]


async def test_a_qr_top_up_credits_the_wallet_once_the_code_is_paid(shoppers: NewShopper):
    s = await shoppers()
    pending = await s.send_payment("/top-ups", {"amount": 25_000, "method": "QR_PAY"}, None)
    assert pending["status"] == "PENDING" and pending["qr"]["payload"]
    await asyncio.sleep(1)
    await wallet_reaches(s, 0)  # nothing before the customer pays the code
    done = await s.scan_and_follow(pending, None, 30)
    assert done["status"] == "SUCCEEDED", done
    await wallet_reaches(s, 25_000)


async def test_a_top_up_outside_100_to_100_000_roubles_is_refused(shoppers: NewShopper):
    s = await shoppers()
    for amount in (9_999, 10_000_001):
        with pytest.raises(EdgeError) as refused:
            await s.top_up(amount)
        assert refused.value.status == 400 and refused.value.body["errorMessage"]
    assert (await wallet_reaches(s, 0))["entries"] == []


async def test_a_saved_card_pays_an_order_and_can_be_removed(system: System, shoppers: NewShopper):
    s = await shoppers()
    card = await s.save_card()
    assert card["last4"] == "4242" and "4242424242424242" not in str(card)
    assert (await s.save_card())["id"] == card["id"]  # the same card is kept once
    assert [c["id"] for c in (await s.means())["cards"]] == [card["id"]]
    order = await awaiting_payment(system, s, 12_000)
    paid = await s.pay(order, means_id=card["id"])
    assert paid["status"] == "SUCCEEDED", paid
    await s.wait_paid(order["id"])
    await s.delete_card(card["id"])
    assert (await s.means())["cards"] == []


async def test_an_sbp_qr_payment_is_pending_until_scanned_then_the_order_is_paid(
    system: System, shoppers: NewShopper
):
    s = await shoppers()
    order = await awaiting_payment(system, s, 8_000)
    pending = await s.pay(order, method="QR_PAY")
    assert pending["status"] == "PENDING"
    assert {"qrId", "payload", "expiresAt", "image"} <= set(pending["qr"])
    assert (await s.order(order["id"]))["status"] == "AWAITING_PAYMENT"
    await s.scan(pending["qr"]["qrId"])
    paid = await s.follow(pending, 30)
    assert paid["status"] == "SUCCEEDED" and paid["method"] == "QR_PAY", paid
    await s.wait_paid(order["id"])


async def test_a_gift_card_is_bought_emailed_activated_by_the_donee_and_spent(
    system: System, shoppers: NewShopper, sent: Path
):
    buyer, donee = await shoppers(), await shoppers()
    order = await buyer.order_gift_card(100_000, donee.email, "Мария", "birthday")
    assert order["kind"] == "GIFT_CARD" and order["status"] == "AWAITING_PAYMENT"
    assert (await buyer.pay(order))["status"] == "SUCCEEDED"
    order = await buyer.wait_status(order["id"], {"COMPLETED"}, timeout=30)
    number = order["giftCard"]["giftCardNumber"]
    [code] = await wait_for_codes(sent, donee.email, timeout=30)
    assert code != number

    card = await donee.activate(code)
    assert card["balance"] == 100_000 and card["number"] == number
    assert [g["id"] for g in await donee.gift_cards()] == [card["id"]]
    with pytest.raises(EdgeError) as again:
        await buyer.activate(code)
    assert 400 <= again.value.status < 500
    goods = await awaiting_payment(system, donee, 40_000)
    paid = await donee.pay(goods, method="GIFT_CARD", means_id=card["id"])
    assert paid["status"] == "SUCCEEDED", paid
    await donee.wait_paid(goods["id"])

    async def left() -> bool:
        return [g["balance"] for g in await donee.gift_cards()] == [60_000]

    await eventually(left, timeout=20)


async def test_a_wallet_too_short_is_refused_with_409_and_nothing_moves(
    system: System, shoppers: NewShopper
):
    s = await shoppers()
    assert (await s.top_up(10_000))["status"] == "SUCCEEDED"
    await wallet_reaches(s, 10_000)
    order = await awaiting_payment(system, s, 30_000)
    assert (await s.means(order["id"]))["wallet"]["canPay"] is False
    with pytest.raises(EdgeError) as refused:
        await s.pay(order, method="WALLET")
    assert refused.value.status == 409 and refused.value.body["errorMessage"]
    await asyncio.sleep(1)
    wallet = await s.wallet()
    assert wallet["balance"] == 10_000 and len(wallet["entries"]) == 1
    assert (await s.order(order["id"]))["status"] == "AWAITING_PAYMENT"


async def test_twenty_wallet_payments_racing_for_1000_roubles_pay_exactly_ten_orders(
    system: System, shoppers: NewShopper
):
    s = await shoppers()
    assert (await s.top_up(100_000))["status"] == "SUCCEEDED"
    await wallet_reaches(s, 100_000)
    product = await system.add_product(f"Race {uuid.uuid4().hex[:6]}", 10_000, {"msk-1": 20})
    delivery = await s.delivery_choice("pickup")
    orders = [await s.checkout(await s.place(product), delivery=delivery) for _ in range(20)]

    async def pay(order: dict[str, Any]) -> str:
        try:
            return str((await s.pay(order, method="WALLET"))["status"])
        except EdgeError as exc:
            return f"refused {exc.status}"

    outcomes = await asyncio.gather(*(pay(o) for o in orders))
    assert outcomes.count("SUCCEEDED") == 10, outcomes
    assert set(outcomes) <= {"SUCCEEDED", "FAILED", "refused 409"}, outcomes
    wallet = await wallet_reaches(s, 0)
    assert sum(e["amount"] for e in wallet["entries"] if e["reason"] == "PAYMENT") == -100_000


async def test_an_admin_refunds_part_of_a_card_payment_and_never_more_than_is_left(
    system: System, shoppers: NewShopper
):
    s = await shoppers()
    admin = await make_admin(system.stack, await shoppers())
    order = await awaiting_payment(system, s, 50_000)
    paid = await s.pay(order)
    assert (await s.wait_status(order["id"], FINAL, timeout=30))["status"] == "CONFIRMED"
    before = await bank_totals(s, system.stack.bank_admin_headers())
    with pytest.raises(EdgeError) as customer:
        await s.refund(paid["paymentId"], 1_000)
    assert customer.value.status == 403

    refund = await admin.refund(paid["paymentId"], 20_000, "scratched box")
    assert refund["amount"] == 20_000

    async def done() -> bool:
        view = await admin.call("payment_svc", "GET", f"/refunds/{refund['refundId']}")
        return bool(view["status"] == "SUCCEEDED")

    await eventually(done, timeout=30)
    after = await bank_totals(s, system.stack.bank_admin_headers())
    assert after["refunded"] - before["refunded"] == 20_000
    assert (await s.payment(paid["paymentId"]))["refunded"] == 20_000
    with pytest.raises(EdgeError) as too_much:
        await admin.refund(paid["paymentId"], 30_001, "more than is left")
    assert 400 <= too_much.value.status < 500 and too_much.value.body["errorMessage"]


async def test_cancelling_a_confirmed_wallet_paid_order_gives_the_money_back_to_the_wallet(
    system: System, shoppers: NewShopper
):
    s = await shoppers()
    assert (await s.top_up(50_000))["status"] == "SUCCEEDED"
    await wallet_reaches(s, 50_000)
    order = await awaiting_payment(system, s, 30_000)
    paid = await s.pay(order, method="WALLET")
    assert paid["status"] == "SUCCEEDED", paid
    order = await s.wait_status(order["id"], FINAL, timeout=30)
    assert order["status"] == "CONFIRMED"  # the warehouse has not started picking it
    await wallet_reaches(s, 20_000)
    await s.cancel(order)  # orchestra compensates: the order ends CANCELLED
    assert (await s.wait_status(order["id"], {"CANCELLED"}, timeout=30))["reason"]
    wallet = await wallet_reaches(s, 50_000)
    assert wallet["entries"][0]["reason"] == "REFUND"

    async def refunded() -> bool:
        return bool((await s.payment(paid["paymentId"]))["status"] == "REFUNDED")

    await eventually(refunded, timeout=30)
