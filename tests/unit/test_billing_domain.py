"""billing's ledger rules, gift-card codes and numbers, and the activation attempt window."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest

from billing_svc.codes import (
    AttemptWindow,
    code_hash,
    new_activation_code,
    new_card_number,
    normalize,
)
from billing_svc.domain import (
    Account,
    Outcome,
    Wallet,
    WalletNotFound,
    decide,
    open_wallet,
    signed,
)
from schemas.billing import AccountKind, BillingRequest, EntryReason, LedgerOp


def test_a_new_wallet_is_empty_in_roubles_at_version_zero() -> None:
    wallet = open_wallet("ivan")
    assert (wallet.username, wallet.balance, wallet.currency, wallet.version) == (
        "ivan",
        0,
        "RUB",
        0,
    )


def test_a_wallet_cannot_hold_a_negative_balance() -> None:
    with pytest.raises(ValueError, match="negative"):
        Wallet(username="ivan", balance=-1)


def test_a_wallet_belongs_to_someone() -> None:
    with pytest.raises(ValueError, match="username"):
        open_wallet("")


def test_a_missing_wallet_is_a_404_with_the_edge_message() -> None:
    error = WalletNotFound()
    assert (error.status, error.message) == (404, "wallet not found")


# -- the ledger rules ---------------------------------------------------------------------------
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def request(
    op: LedgerOp = LedgerOp.DEBIT,
    kind: AccountKind = AccountKind.WALLET,
    account_id: str = "ivan",
    username: str = "ivan",
    amount: int = 100,
    currency: str = "RUB",
) -> BillingRequest:
    return BillingRequest(
        request_id="r-1",
        op=op,
        account_kind=kind,
        account_id=account_id,
        username=username,
        amount=amount,
        currency=currency,
        reason=EntryReason.PAYMENT if op is LedgerOp.DEBIT else EntryReason.TOP_UP,
        payment_id="p-1",
        order_id="o-1",
        timestamp=NOW,
    )


def wallet(balance: int, owner: str = "ivan") -> Account:
    return Account(AccountKind.WALLET, owner, balance, "RUB", owner, True, 3)


def card(balance: int, owner: str | None = "ivan", active: bool = True) -> Account:
    return Account(AccountKind.GIFT_CARD, "gc-1", balance, "RUB", owner, active, 1)


def test_a_debit_the_wallet_covers_leaves_the_rest() -> None:
    assert decide(request(amount=300), wallet(1000)) == Outcome(None, 700)


def test_a_debit_of_the_whole_balance_leaves_zero() -> None:
    assert decide(request(amount=1000), wallet(1000)).balance == 0


def test_a_debit_the_wallet_cannot_cover_fails_and_shows_the_current_balance() -> None:
    outcome = decide(request(amount=1001), wallet(1000))
    assert not outcome.applied
    assert outcome == Outcome("not enough money in the wallet", 1000)


def test_a_wallet_is_debited_only_for_its_own_user() -> None:
    outcome = decide(request(account_id="maria", username="ivan"), wallet(1000, owner="maria"))
    assert outcome == Outcome("wallet not found", None)


def test_a_debit_of_a_wallet_never_opened_fails() -> None:
    assert decide(request(), None) == Outcome("wallet not found", None)


def test_a_credit_opens_a_wallet_the_registration_has_not_opened_yet() -> None:
    assert decide(request(op=LedgerOp.CREDIT, amount=500), None) == Outcome(None, 500)


def test_a_credit_adds_to_the_wallet() -> None:
    assert decide(request(op=LedgerOp.CREDIT, amount=500), wallet(1000)).balance == 1500


def test_money_in_another_currency_is_refused() -> None:
    outcome = decide(request(op=LedgerOp.CREDIT, currency="USD"), wallet(1000))
    assert outcome.reason == "the account holds RUB, not USD"


def test_a_gift_card_is_debited_for_its_owner_within_its_balance() -> None:
    kind = AccountKind.GIFT_CARD
    assert decide(request(kind=kind, account_id="gc-1", amount=400), card(500)).balance == 100
    short = decide(request(kind=kind, account_id="gc-1", amount=600), card(500))
    assert short == Outcome("not enough money on the gift card", 500)


def test_someone_elses_or_an_inactive_gift_card_is_not_found_and_shows_no_balance() -> None:
    kind = AccountKind.GIFT_CARD
    mine = request(kind=kind, account_id="gc-1")
    for account in (card(500, owner="maria"), card(500, owner=None, active=False), None):
        assert decide(mine, account) == Outcome("gift card not found", None)


def test_a_refund_goes_back_to_the_owners_gift_card_only() -> None:
    refund = request(op=LedgerOp.CREDIT, kind=AccountKind.GIFT_CARD, account_id="gc-1")
    assert decide(refund, card(0)).balance == 100
    assert decide(refund, card(0, owner="maria")).reason == "gift card not found"
    assert decide(refund, None).reason == "gift card not found"


def test_an_entry_credits_plus_and_debits_minus() -> None:
    assert signed(request(op=LedgerOp.CREDIT, amount=70)) == 70
    assert signed(request(op=LedgerOp.DEBIT, amount=70)) == -70


# -- gift-card codes and numbers ----------------------------------------------------------------
def test_an_activation_code_is_four_groups_of_four_unambiguous_characters() -> None:
    code = new_activation_code()
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", code)
    assert not set(code) & set("01OIL")


def test_activation_codes_and_card_numbers_differ_each_time() -> None:
    assert len({new_activation_code() for _ in range(200)}) == 200
    assert len({new_card_number() for _ in range(200)}) == 200


def test_a_card_number_is_gc_and_twelve_digits_in_groups() -> None:
    assert re.fullmatch(r"GC-\d{4}-\d{4}-\d{4}", new_card_number())


def test_spaces_dashes_and_letter_case_do_not_change_a_code() -> None:
    assert normalize(" abcd-efgh jkmn-PQRS ") == "ABCDEFGHJKMNPQRS"
    assert code_hash("abcd efgh-jkmn pqrs") == code_hash("ABCD-EFGH-JKMN-PQRS")
    assert code_hash("ABCD-EFGH-JKMN-PQRS") != code_hash("ABCD-EFGH-JKMN-PQRT")


def test_a_code_hash_is_the_sha256_hex_of_the_normalized_code() -> None:
    expected = hashlib.sha256(b"ABCDEFGHJKMNPQRS").hexdigest()
    assert code_hash("abcd-efgh-jkmn-pqrs") == expected


# -- the activation attempt window --------------------------------------------------------------
WINDOW = AttemptWindow(limit=5, length=timedelta(minutes=15))


def test_times_in_one_quarter_hour_share_a_window_and_the_next_starts_a_new_one() -> None:
    start = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert WINDOW.bucket(start) == WINDOW.bucket(start + timedelta(minutes=14, seconds=59))
    assert WINDOW.bucket(start + timedelta(minutes=15)) == WINDOW.bucket(start) + 1


def test_retry_after_counts_the_seconds_until_the_window_ends_and_is_never_zero() -> None:
    start = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert WINDOW.ends(start + timedelta(minutes=3)) == start + timedelta(minutes=15)
    assert WINDOW.retry_after(start + timedelta(minutes=3)) == 12 * 60
    assert WINDOW.retry_after(start + timedelta(minutes=14, seconds=59.5)) == 1
    assert WINDOW.retry_after(start) == 15 * 60
