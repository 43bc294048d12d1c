"""SBP QR charges at the bank simulator: a pending code to scan, paid or declined by the
customer's bank app or expired, a signed callback once it is settled (retried, or lost on
purpose), and the same state after a restart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from payment_svc.adapters import BankRefused, HttpBank
from payment_svc.signing import verify
from schemas.payment_http import BankCallback, BankStatus, ChargeRequest
from tests.support.bank_sim import (
    WEBHOOK_SECRET,
    BankClient,
    ManualClock,
    Received,
    bank_at,
    callback_receiver,
    get,
    ledger_of,
    post,
    qr_charge,
)

UNUSED_CALLBACK = "http://127.0.0.1:9/bank/callbacks"


def verified(received: Received) -> BankCallback:
    assert verify(WEBHOOK_SECRET, received.signature, received.body, now=int(time.time()))
    return BankCallback.from_bytes(received.body)


async def open_qr(bank: BankClient, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = await post(bank, "/charges", body)
    assert status == 200, answer
    return answer


async def test_a_qr_charge_is_pending_with_a_code_and_the_same_key_gets_the_same_code(
    tmp_path: Path,
):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        body = qr_charge(UNUSED_CALLBACK, amount=12_345)
        first = await open_qr(bank, body)
        assert first["status"] == "pending" and "declineReason" not in first
        qr = first["qr"]
        assert qr["payload"].startswith(f"https://qr.nspk.ru/{qr['qrId']}?type=02&")
        assert "sum=12345&cur=RUB&crc=" in qr["payload"]
        assert await open_qr(bank, body) == first
        assert await get(bank, f"/charges/{body['idempotencyKey']}") == (200, first)
        totals = await ledger_of(bank)
        assert (totals["captured"], totals["charges"], totals["declined"]) == (0, 0, 0)


async def test_a_charge_with_two_means_or_a_callback_that_is_no_url_gets_400(tmp_path: Path):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        both = qr_charge(UNUSED_CALLBACK, sbp={"phone": "+79990000001"})
        assert (await post(bank, "/charges", both))[0] == 400
        status, body = await post(bank, "/charges", qr_charge("ftp://example/callbacks"))
        assert status == 400 and "callbackUrl" in body["errorMessage"]
        assert (await ledger_of(bank))["charges"] == 0


async def test_a_paid_qr_code_succeeds_and_a_signed_callback_tells_the_shop(tmp_path: Path):
    async with callback_receiver() as shop, bank_at(tmp_path / "ledger.jsonl") as bank:
        body = qr_charge(shop.url, amount=2500)
        opened = await open_qr(bank, body)
        status, paid = await post(bank, f"/qr/{opened['qr']['qrId']}/pay", {})
        assert (status, paid["status"]) == (200, "succeeded")
        assert paid["chargeId"] == opened["chargeId"] and paid["qr"] == opened["qr"]
        callback = verified(await shop.next())
        assert (callback.idempotency_key, callback.charge_id) == (
            body["idempotencyKey"],
            opened["chargeId"],
        )
        assert (callback.status, callback.amount) == (BankStatus.SUCCEEDED, 2500)
        assert await get(bank, f"/charges/{body['idempotencyKey']}") == (200, paid)
        assert await open_qr(bank, body) == paid
        totals = await ledger_of(bank)
        assert (totals["captured"], totals["charges"]) == (2500, 1)


async def test_a_qr_code_is_paid_only_once(tmp_path: Path):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        opened = await open_qr(bank, qr_charge(UNUSED_CALLBACK))
        pay = f"/qr/{opened['qr']['qrId']}/pay"
        assert (await post(bank, pay, {}))[0] == 200
        assert await post(bank, pay, {}) == (409, {"errorMessage": "QR code already paid"})
        assert (await ledger_of(bank))["captured"] == 2500


async def test_an_unknown_qr_code_is_404(tmp_path: Path):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        status, body = await post(bank, "/qr/NOSUCHCODE/pay", {})
        assert status == 404 and body["errorMessage"]


async def test_a_scan_that_fails_declines_the_charge_with_its_reason_and_says_so(
    tmp_path: Path,
):
    async with callback_receiver() as shop, bank_at(tmp_path / "ledger.jsonl") as bank:
        body = qr_charge(shop.url)
        opened = await open_qr(bank, body)
        pay = f"/qr/{opened['qr']['qrId']}/pay"
        status, declined = await post(bank, pay, {"decline": "not enough money"})
        assert (status, declined["status"]) == (200, "declined")
        assert declined["declineReason"] == "not enough money"
        callback = verified(await shop.next())
        assert (callback.status, callback.decline_reason) == ("declined", "not enough money")
        assert (await post(bank, pay, {}))[0] == 409
        totals = await ledger_of(bank)
        assert (totals["captured"], totals["declined"]) == (0, 1)


async def test_an_unpaid_qr_code_expires_and_can_no_longer_be_paid(tmp_path: Path):
    clock = ManualClock()
    async with bank_at(tmp_path / "ledger.jsonl", clock=clock) as bank:
        body = qr_charge(UNUSED_CALLBACK, ttl=1)
        opened = await open_qr(bank, body)
        clock.advance(2)
        status, looked = await get(bank, f"/charges/{body['idempotencyKey']}")
        assert (status, looked["status"]) == (200, "declined")
        assert looked["declineReason"] == "QR code expired"
        pay = f"/qr/{opened['qr']['qrId']}/pay"
        assert await post(bank, pay, {}) == (409, {"errorMessage": "QR code expired"})
        totals = await ledger_of(bank)
        assert (totals["captured"], totals["declined"]) == (0, 1)


async def test_an_expired_qr_code_scanned_before_anyone_looked_is_declined_as_expired(
    tmp_path: Path,
):
    clock = ManualClock()
    async with callback_receiver() as shop, bank_at(tmp_path / "ledger.jsonl", clock=clock) as bank:
        body = qr_charge(shop.url, ttl=1)
        opened = await open_qr(bank, body)
        clock.advance(1)
        pay = f"/qr/{opened['qr']['qrId']}/pay"
        assert await post(bank, pay, {}) == (409, {"errorMessage": "QR code expired"})
        callback = verified(await shop.next())
        assert (callback.status, callback.decline_reason) == ("declined", "QR code expired")
        _, looked = await get(bank, f"/charges/{body['idempotencyKey']}")
        assert looked["declineReason"] == "QR code expired"


async def test_qr_charges_keep_their_state_across_a_restart(tmp_path: Path):
    path, clock = tmp_path / "ledger.jsonl", ManualClock()
    paid_body, waiting_body, expired_body = (
        qr_charge(UNUSED_CALLBACK, amount=100),
        qr_charge(UNUSED_CALLBACK, amount=200),
        qr_charge(UNUSED_CALLBACK, amount=300, ttl=5),
    )
    async with bank_at(path, clock=clock) as bank:
        paid = await open_qr(bank, paid_body)
        waiting = await open_qr(bank, waiting_body)
        await open_qr(bank, expired_body)
        paid = (await post(bank, f"/qr/{paid['qr']['qrId']}/pay", {}))[1]
        clock.advance(10)
        _, expired = await get(bank, f"/charges/{expired_body['idempotencyKey']}")
    # a clock set back before the expiry shows the expiry was recorded, not recomputed
    async with bank_at(path, clock=ManualClock()) as bank:
        assert await open_qr(bank, paid_body) == paid
        assert await open_qr(bank, expired_body) == expired
        assert await open_qr(bank, waiting_body) == waiting
        assert (await post(bank, f"/qr/{paid['qr']['qrId']}/pay", {}))[0] == 409
        status, now_paid = await post(bank, f"/qr/{waiting['qr']['qrId']}/pay", {})
        assert (status, now_paid["status"]) == (200, "succeeded")
        totals = await ledger_of(bank)
        assert (totals["captured"], totals["charges"], totals["declined"]) == (300, 2, 1)


async def test_a_paid_qr_charge_is_refunded_like_a_card_and_a_pending_one_is_not(
    tmp_path: Path,
):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        paid = await open_qr(bank, qr_charge(UNUSED_CALLBACK, amount=1000))
        pending = await open_qr(bank, qr_charge(UNUSED_CALLBACK, amount=1000))
        await post(bank, f"/qr/{paid['qr']['qrId']}/pay", {})
        refund = {"idempotencyKey": "r1", "chargeId": paid["chargeId"], "amount": 1000}
        _, refunded = await post(bank, "/refunds", refund)
        assert refunded["status"] == "succeeded"
        early = {"idempotencyKey": "r2", "chargeId": pending["chargeId"], "amount": 1}
        _, refused = await post(bank, "/refunds", early)
        assert (refused["status"], refused["declineReason"]) == (
            "declined",
            "the charge was not captured",
        )
        totals = await ledger_of(bank)
        assert (totals["captured"], totals["refunded"], totals["refunds"]) == (1000, 1000, 1)


async def test_the_adapter_opens_pays_and_looks_up_a_qr_charge(tmp_path: Path):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        adapter = HttpBank(str(bank.make_url("")), timeout_seconds=2, attempts=2)
        try:
            request = ChargeRequest.model_validate(qr_charge(UNUSED_CALLBACK, key="pay/1?odd key#"))
            opened = await adapter.charge(request)
            assert opened.status is BankStatus.PENDING and opened.qr is not None
            assert await adapter.lookup(request.idempotency_key) == opened
            declined = await adapter.pay_qr(opened.qr.qr_id, decline="card blocked")
            assert (declined.status, declined.decline_reason) == ("declined", "card blocked")
            assert await adapter.lookup(request.idempotency_key) == declined
            with pytest.raises(BankRefused, match="declined"):
                await adapter.pay_qr(opened.qr.qr_id)
            with pytest.raises(BankRefused):
                await adapter.pay_qr("NOSUCHCODE")
        finally:
            await adapter.close()
