"""Saved cards at the bank simulator: tokens that are the same for the same card, charges by
token with the same declines as by card, and a ledger file that never holds a card number."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from payment_svc.adapters import BankRefused, BankUnavailable, HttpBank
from payment_svc.bank_cards import brand_of
from schemas.payment_http import CardDetails
from tests.support.bank_sim import GOOD_CARD, ManualClock, bank_at, charge, ledger_of, post

DECLINED_CARD = {**GOOD_CARD, "number": "4000 0000 0000 0002"}  # "insufficient funds"


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "VISA"),
        ("5555555555554444", "MASTERCARD"),
        ("5105105105105100", "MASTERCARD"),
        ("2221000000000009", "MASTERCARD"),
        ("2720990000000007", "MASTERCARD"),
        ("2200000000000004", "MIR"),
        ("2204999999999999", "MIR"),
        ("6011111111111117", "CARD"),
        ("5000000000000009", "CARD"),
    ],
)
def test_the_brand_comes_from_the_first_digits(number: str, brand: str):
    assert brand_of(number) == brand


async def test_the_same_card_saved_twice_gets_the_same_token_and_another_card_another(
    tmp_path: Path,
):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        status, first = await post(bank, "/cards", {"card": GOOD_CARD})
        spaced = {**GOOD_CARD, "number": "4242 4242 4242 4242"}
        _, again = await post(bank, "/cards", {"card": spaced})
        _, other = await post(bank, "/cards", {"card": {**GOOD_CARD, "number": "2200000000000004"}})
        assert status == 200 and first == again
        assert first["token"].startswith("tok_") and "4242424242" not in first["token"]
        assert (first["brand"], first["last4"], first["expMonth"], first["expYear"]) == (
            "VISA",
            "4242",
            12,
            2099,
        )
        assert (other["brand"], other["last4"]) == ("MIR", "0004")
        assert other["token"] != first["token"]


async def test_an_invalid_or_expired_card_is_not_saved(tmp_path: Path):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        bad = {**GOOD_CARD, "number": "4242424242424241"}
        assert await post(bank, "/cards", {"card": bad}) == (
            400,
            {"errorMessage": "card number is invalid"},
        )
        old = {**GOOD_CARD, "expYear": 2020}
        assert await post(bank, "/cards", {"card": old}) == (400, {"errorMessage": "card expired"})
        status, body = await post(bank, "/cards", {"card": {**GOOD_CARD, "cvc": "x"}})
        assert status == 400 and body["errorMessage"]


async def test_a_saved_card_is_charged_by_its_token(tmp_path: Path):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        _, saved = await post(bank, "/cards", {"card": GOOD_CARD})
        body = charge(1200, cardToken=saved["token"])
        status, answer = await post(bank, "/charges", body)
        assert (status, answer["status"]) == (200, "succeeded")
        assert await post(bank, "/charges", body) == (200, answer)
        assert (await ledger_of(bank))["captured"] == 1200


async def test_an_unknown_token_gets_400_and_moves_no_money(tmp_path: Path):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        status, body = await post(bank, "/charges", charge(cardToken="tok_nobodyknowsthisone"))
        assert (status, body) == (400, {"errorMessage": "unknown card token"})
        assert (await ledger_of(bank))["charges"] == 0


async def test_a_saved_card_on_the_decline_list_is_declined_by_its_token(tmp_path: Path):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        _, poor = await post(bank, "/cards", {"card": DECLINED_CARD})
        _, answer = await post(bank, "/charges", charge(cardToken=poor["token"]))
        assert (answer["status"], answer["declineReason"]) == ("declined", "insufficient funds")
        _, good = await post(bank, "/cards", {"card": GOOD_CARD})
        await bank.put("/config", json={"declines": {GOOD_CARD["number"]: "card blocked"}})
        _, blocked = await post(bank, "/charges", charge(cardToken=good["token"]))
        assert (blocked["status"], blocked["declineReason"]) == ("declined", "card blocked")
        assert (await ledger_of(bank))["captured"] == 0


async def test_a_saved_card_past_its_expiry_is_declined_as_expired(tmp_path: Path):
    clock = ManualClock()
    async with bank_at(tmp_path / "ledger.jsonl", clock=clock) as bank:
        _, saved = await post(bank, "/cards", {"card": GOOD_CARD})
        clock.now = datetime(2100, 1, 1, tzinfo=UTC)
        _, answer = await post(bank, "/charges", charge(cardToken=saved["token"]))
        assert (answer["status"], answer["declineReason"]) == ("declined", "card expired")


async def test_the_ledger_file_never_holds_a_card_number(tmp_path: Path):
    path = tmp_path / "ledger.jsonl"
    async with bank_at(path) as bank:
        _, saved = await post(bank, "/cards", {"card": GOOD_CARD})
        await post(bank, "/charges", charge(card=GOOD_CARD))
        await post(bank, "/charges", charge(card=DECLINED_CARD))
        await post(bank, "/charges", charge(cardToken=saved["token"]))
        await post(bank, "/cards", {"card": DECLINED_CARD})
    text = path.read_text()
    assert saved["token"] in text  # the file is the one the bank wrote to
    for number in ("4242424242424242", "4000000000000002", "4000 0000 0000 0002"):
        assert number not in text


async def test_saved_cards_survive_a_restart_with_the_same_tokens(tmp_path: Path):
    path = tmp_path / "ledger.jsonl"
    async with bank_at(path) as bank:
        _, saved = await post(bank, "/cards", {"card": GOOD_CARD})
    async with bank_at(path) as bank:
        _, answer = await post(bank, "/charges", charge(500, cardToken=saved["token"]))
        assert answer["status"] == "succeeded"
        assert (await post(bank, "/cards", {"card": GOOD_CARD}))[1] == saved


async def test_another_bank_gives_the_same_card_another_token(tmp_path: Path):
    async with bank_at(tmp_path / "one.jsonl") as one, bank_at(tmp_path / "two.jsonl") as two:
        _, first = await post(one, "/cards", {"card": GOOD_CARD})
        _, second = await post(two, "/cards", {"card": GOOD_CARD})
        assert first["token"] != second["token"]


async def test_the_adapter_tokenizes_and_reports_a_refusal_as_bank_refused(tmp_path: Path):
    async with bank_at(tmp_path / "ledger.jsonl") as bank:
        adapter = HttpBank(str(bank.make_url("")), timeout_seconds=2, attempts=2)
        try:
            saved = await adapter.tokenize(CardDetails.model_validate(GOOD_CARD))
            assert (saved.brand, saved.last4) == ("VISA", "4242")
            expired = CardDetails.model_validate({**GOOD_CARD, "expYear": 2020})
            with pytest.raises(BankRefused, match="card expired"):
                await adapter.tokenize(expired)
        finally:
            await adapter.close()


async def test_the_adapter_reports_a_bank_that_does_not_answer_as_unavailable():
    adapter = HttpBank("http://127.0.0.1:9", timeout_seconds=0.5, attempts=2)
    try:
        with pytest.raises(BankUnavailable):
            await adapter.tokenize(CardDetails.model_validate(GOOD_CARD))
    finally:
        await adapter.close()
