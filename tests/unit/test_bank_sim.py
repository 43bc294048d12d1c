"""The bank simulator in-process (aiohttp test server on a real port) and the payment adapter
against it: idempotent charges and refunds, declines, refunds capped by the charge, lost
answers, and a ledger that survives a restart."""

from __future__ import annotations

import random
from pathlib import Path

from payment_svc.adapters import HttpBank
from schemas.payment_http import BankStatus, ChargeRequest
from tests.support.bank_sim import GOOD_CARD, bank_at, charge, ledger_of, post


class LoseFirstAnswer(random.Random):
    """The first charge's answer is lost; every later one arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def random(self) -> float:
        self.calls += 1
        return 0.0 if self.calls == 1 else 1.0


async def test_the_same_idempotency_key_charges_once_and_answers_the_same(tmp_path: Path):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        body = charge(2500)
        first = await post(bank, "/charges", body)
        second = await post(bank, "/charges", body)
        assert first == second and first[1]["status"] == "succeeded"
        assert await ledger_of(bank) == {
            "captured": 2500,
            "refunded": 0,
            "charges": 1,
            "declined": 0,
            "refunds": 0,
        }
        resp = await bank.get(f"/charges/{body['idempotencyKey']}")
        assert await resp.json() == first[1]


async def test_cards_on_the_decline_list_and_expired_cards_are_declined_with_a_reason(
    tmp_path: Path,
):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        for number, reason in [
            ("4000000000000002", "insufficient funds"),
            ("4000000000000069", "card expired"),
        ]:
            status, body = await post(
                bank, "/charges", charge(card={**GOOD_CARD, "number": number})
            )
            assert (status, body["status"], body["declineReason"]) == (200, "declined", reason)
        old = {**GOOD_CARD, "expYear": 2020}
        _, body = await post(bank, "/charges", charge(card=old))
        assert body["declineReason"] == "card expired"
        assert (await ledger_of(bank))["captured"] == 0


async def test_a_card_number_failing_luhn_gets_400_and_moves_no_money(tmp_path: Path):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        bad = {**GOOD_CARD, "number": "4242424242424241"}
        status, body = await post(bank, "/charges", charge(card=bad))
        assert status == 400 and "invalid" in body["errorMessage"]
        assert (await ledger_of(bank))["charges"] == 0


async def test_sbp_pays_by_phone_and_declines_come_from_the_config_set_at_run_time(
    tmp_path: Path,
):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        _, ok = await post(bank, "/charges", charge(sbp={"phone": "+79990000001"}))
        assert ok["status"] == "succeeded"
        resp = await bank.put("/config", json={"declines": {"+79990000002": "account blocked"}})
        assert resp.status == 200
        _, bad = await post(bank, "/charges", charge(sbp={"phone": "+79990000002"}))
        assert (bad["status"], bad["declineReason"]) == ("declined", "account blocked")


async def test_refunds_never_take_more_than_was_charged(tmp_path: Path):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        _, charged = await post(bank, "/charges", charge(1000))
        refund = {"chargeId": charged["chargeId"]}
        _, part = await post(bank, "/refunds", {**refund, "idempotencyKey": "r1", "amount": 600})
        _, again = await post(bank, "/refunds", {**refund, "idempotencyKey": "r1", "amount": 600})
        _, over = await post(bank, "/refunds", {**refund, "idempotencyKey": "r2", "amount": 500})
        _, rest = await post(bank, "/refunds", {**refund, "idempotencyKey": "r3", "amount": 400})
        assert part == again and part["status"] == "succeeded"
        assert over["status"] == "declined" and "exceeds" in over["declineReason"]
        assert rest["status"] == "succeeded"
        totals = await ledger_of(bank)
        assert (totals["captured"], totals["refunded"], totals["refunds"]) == (1000, 1000, 2)


async def test_a_refund_of_an_unknown_or_declined_charge_moves_no_money(tmp_path: Path):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        body = {"idempotencyKey": "r", "chargeId": "ch_nope", "amount": 1}
        assert (await post(bank, "/refunds", body))[0] == 404
        declined_card = {**GOOD_CARD, "number": "4000000000000002"}
        _, declined = await post(bank, "/charges", charge(card=declined_card))
        _, refund = await post(bank, "/refunds", {**body, "chargeId": declined["chargeId"]})
        assert refund["status"] == "declined"
        assert (await ledger_of(bank))["refunded"] == 0
        assert (await bank.get("/charges/never-seen")).status == 404


async def test_the_ledger_survives_a_restart_and_old_keys_get_the_same_answers(tmp_path: Path):
    path = tmp_path / "ledger.jsonl"
    body = charge(700)
    async with bank_at(path) as bank:
        _, first = await post(bank, "/charges", body)
        refund = {"idempotencyKey": "r", "chargeId": first["chargeId"], "amount": 700}
        _, refunded = await post(bank, "/refunds", refund)
    with path.open("a") as torn:
        torn.write('{"op": "charge", "key": "half-writ')  # a kill in the middle of a write
    async with bank_at(path) as bank:
        assert await post(bank, "/charges", body) == (200, first)
        assert await post(bank, "/refunds", refund) == (200, refunded)
        totals = await ledger_of(bank)
        assert (totals["captured"], totals["refunded"], totals["charges"]) == (700, 700, 1)


async def test_a_charge_whose_answer_is_lost_is_resent_by_the_adapter_and_charged_once(
    tmp_path: Path,
):
    async with bank_at(
        tmp_path / "ledger.jsonl", LoseFirstAnswer(), timeout_rate=1.0, hang_seconds=0.6
    ) as bank:
        adapter = HttpBank(str(bank.make_url("")), timeout_seconds=0.3, attempts=3)
        try:
            request = ChargeRequest.model_validate(charge(1500))
            answer = await adapter.charge(request)
            assert answer.status is BankStatus.SUCCEEDED
            looked_up = await adapter.lookup(request.idempotency_key)
            assert looked_up == answer
            assert await adapter.lookup("never-seen") is None
        finally:
            await adapter.close()
        totals = await ledger_of(bank)
        assert (totals["captured"], totals["charges"]) == (1500, 1)
