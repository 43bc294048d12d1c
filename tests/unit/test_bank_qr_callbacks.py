"""The bank simulator's QR callbacks: retried when the shop does not take them, lost on
purpose at the configured rate (the charge's state stays right for polling), and not sent at
all without a webhook secret."""

from __future__ import annotations

import time
from pathlib import Path

from payment_svc.signing import verify
from schemas.payment_http import BankCallback, BankStatus
from tests.support.bank_sim import (
    WEBHOOK_SECRET,
    BankClient,
    bank_at,
    callback_receiver,
    get,
    post,
    qr_charge,
)


async def pay_new_qr(bank: BankClient, callback_url: str, amount: int = 2500) -> str:
    """Opens a QR charge, pays it and answers its idempotency key."""
    body = qr_charge(callback_url, amount=amount)
    _, opened = await post(bank, "/charges", body)
    status, paid = await post(bank, f"/qr/{opened['qr']['qrId']}/pay", {})
    assert (status, paid["status"]) == (200, "succeeded")
    return str(body["idempotencyKey"])


async def test_a_callback_the_shop_refuses_is_tried_again_until_it_is_taken(tmp_path: Path):
    async with callback_receiver(fail_first=2) as shop, bank_at(tmp_path / "l.jsonl") as bank:
        key = await pay_new_qr(bank, shop.url)
        received = await shop.next()
        assert shop.tries == 3
        callback = BankCallback.from_bytes(received.body)
        assert (callback.idempotency_key, callback.status) == (key, BankStatus.SUCCEEDED)
        assert verify(WEBHOOK_SECRET, received.signature, received.body, now=int(time.time()))


async def test_lost_callbacks_never_arrive_but_polling_still_finds_the_payment(tmp_path: Path):
    async with (
        callback_receiver() as shop,
        bank_at(tmp_path / "l.jsonl", callback_loss_rate=1.0) as bank,
    ):
        lost_key = await pay_new_qr(bank, shop.url, amount=100)
        assert (await get(bank, f"/charges/{lost_key}"))[1]["status"] == "succeeded"
        await bank.put("/config", json={"callbackLossRate": 0.0})
        kept_key = await pay_new_qr(bank, shop.url, amount=200)
        # the lost one would have been sent first, so the first to arrive is the kept one
        first = BankCallback.from_bytes((await shop.next()).body)
        assert first.idempotency_key == kept_key
        assert shop.arrived.empty() and shop.tries == 1


async def test_without_a_webhook_secret_the_bank_sends_no_callback(tmp_path: Path):
    async with (
        callback_receiver() as shop,
        bank_at(tmp_path / "quiet.jsonl", webhook_secret="") as quiet,
        bank_at(tmp_path / "loud.jsonl") as loud,
    ):
        await pay_new_qr(quiet, shop.url, amount=100)
        loud_key = await pay_new_qr(loud, shop.url, amount=200)
        first = BankCallback.from_bytes((await shop.next()).body)
        assert first.idempotency_key == loud_key
        assert shop.arrived.empty() and shop.tries == 1
