"""The chaos run's money checks (trials/invariants/money.py) on hand-built snapshots: a
consistent shop passes every one, and each kind of broken money is caught by exactly the check
meant for it, which names the payment, order or account at fault."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import pytest

from trials.invariants.money import (
    MONEY_CHECKS,
    balances_are_entries,
    bank_matches_shop,
    billing_payments_once,
    gift_cards_issued_once,
    orders_paid_once,
    top_ups_credited_once,
)
from trials.invariants.snapshot import Check, Doc, Snapshot

MoneyCheck = Callable[[Snapshot], Check]


# --- building a shop -----------------------------------------------------------------------


def payment(pid: str, amount: int, status: str, via: str, **extra: object) -> Doc:
    return {"_id": pid, "amount": amount, "status": status, "via": via, "refunded": 0, **extra}


def charge(pid: str, amount: int, status: str = "SUCCEEDED") -> Doc:
    """The bank's line for a payment's charge: its key starts with the payment's id."""
    answer = {"status": status, "chargeId": f"ch-{pid}"}
    return {"op": "charge", "key": f"{pid}:charge", "amount": amount, "answer": answer}


def bank_refund(key: str, pid: str, amount: int) -> Doc:
    answer = {"status": "SUCCEEDED"}
    return {"op": "refund", "key": key, "chargeId": f"ch-{pid}", "amount": amount, "answer": answer}


def post(s: Snapshot, kind: str, account_id: str, amount: int, reason: str, pid: str) -> None:
    """Write a billing entry and move the account's balance with it, as billing does, so that
    only what a test breaks on purpose is out of line."""
    accounts = s.wallets if kind == "WALLET" else s.gift_cards
    account = next(a for a in accounts if a["_id"] == account_id)
    account["balance"] += amount
    s.entries.append(
        {
            "_id": f"entry-{len(s.entries) + 1}",
            "accountKind": kind,
            "accountId": account_id,
            "amount": amount,
            "balanceAfter": account["balance"],
            "reason": reason,
            "paymentId": pid,
        }
    )


def consistent_shop() -> Snapshot:
    """ivan tops his wallet up by card, buys goods by card (an admin later gives 200 back),
    buys a gift card from his wallet, has a cancelled card order refunded by the bank and a
    cancelled wallet order refunded by billing."""
    s = Snapshot([], [], [], [], [], [], [], [], [], {}, [], Counter())
    s.orders = [
        {"_id": "order-goods", "status": "CONFIRMED", "total": 1000, "kind": "GOODS"},
        {"_id": "order-gift", "status": "COMPLETED", "total": 5000, "kind": "GIFT_CARD"},
        {"_id": "order-cancel", "status": "CANCELLED", "total": 700, "kind": "GOODS"},
        {"_id": "order-back", "status": "CANCELLED", "total": 3000, "kind": "GOODS"},
    ]
    s.payments = [
        payment("pay-topup", 20000, "SUCCEEDED", "bank", purpose="TOP_UP"),
        payment("pay-card", 1000, "SUCCEEDED", "bank", orderId="order-goods", refunded=200),
        payment("pay-cancel", 700, "REFUNDED", "bank", orderId="order-cancel"),
        payment("pay-wallet", 5000, "SUCCEEDED", "billing", orderId="order-gift"),
        payment("pay-back", 3000, "REFUNDED", "billing", orderId="order-back"),
    ]
    s.refunds = [{"_id": "refund-admin", "paymentId": "pay-card", "status": "SUCCEEDED"}]
    s.ledger = [
        charge("pay-topup", 20000),
        charge("pay-card", 1000),
        bank_refund("refund-admin", "pay-card", 200),
        charge("pay-cancel", 700),
        bank_refund("pay-cancel:refund", "pay-cancel", 700),
    ]
    s.wallets = [{"_id": "ivan", "balance": 0}]
    s.gift_cards = [{"_id": "card-1", "orderId": "order-gift", "balance": 0, "status": "ACTIVE"}]
    post(s, "WALLET", "ivan", 20000, "TOP_UP", "pay-topup")
    post(s, "WALLET", "ivan", -5000, "PAYMENT", "pay-wallet")
    post(s, "GIFT_CARD", "card-1", 5000, "ISSUE", "pay-wallet")
    post(s, "WALLET", "ivan", -3000, "PAYMENT", "pay-back")
    post(s, "WALLET", "ivan", 3000, "REFUND", "pay-back")
    return s


def find(docs: list[Doc], doc_id: str) -> Doc:
    return next(d for d in docs if d["_id"] == doc_id)


def failures(s: Snapshot) -> dict[str, str]:
    """The name and detail of every money check that fails."""
    return {c.__name__: result.detail for c in MONEY_CHECKS if not (result := c(s)).ok}


def assert_caught(s: Snapshot, by: MoneyCheck, naming: str) -> None:
    failed = failures(s)
    assert list(failed) == [by.__name__], failed
    assert re.search(rf"\b{re.escape(naming)}\b", failed[by.__name__]), failed


# --- a consistent shop ---------------------------------------------------------------------


@pytest.mark.parametrize("money_check", MONEY_CHECKS, ids=lambda c: c.__name__)
def test_a_consistent_shop_passes_every_money_check(money_check: MoneyCheck) -> None:
    result = money_check(consistent_shop())
    assert result.ok, result.detail


def test_the_consistent_shop_holds_what_its_entries_say() -> None:
    s = consistent_shop()
    assert (find(s.wallets, "ivan")["balance"], find(s.gift_cards, "card-1")["balance"]) == (
        15000,
        5000,
    )


# --- top-ups -------------------------------------------------------------------------------


def test_a_top_up_credited_twice_is_caught_naming_the_top_up() -> None:
    s = consistent_shop()
    post(s, "WALLET", "ivan", 20000, "TOP_UP", "pay-topup")
    assert_caught(s, top_ups_credited_once, naming="pay-topup")


def test_a_failed_top_up_that_was_credited_is_caught_naming_the_top_up() -> None:
    s = consistent_shop()
    s.payments.append(payment("pay-declined", 9000, "FAILED", "bank", purpose="TOP_UP"))
    s.ledger.append(charge("pay-declined", 9000, status="DECLINED"))
    post(s, "WALLET", "ivan", 9000, "TOP_UP", "pay-declined")
    assert_caught(s, top_ups_credited_once, naming="pay-declined")


# --- balances ------------------------------------------------------------------------------


def test_a_negative_wallet_is_caught_even_when_its_entries_agree() -> None:
    s = consistent_shop()
    s.orders.append({"_id": "order-petr", "status": "CONFIRMED", "total": 300, "kind": "GOODS"})
    s.payments.append(payment("pay-petr", 300, "SUCCEEDED", "billing", orderId="order-petr"))
    s.wallets.append({"_id": "petr", "balance": 0})
    post(s, "WALLET", "petr", -300, "PAYMENT", "pay-petr")
    assert_caught(s, balances_are_entries, naming="petr")


def test_a_wallet_whose_balance_differs_from_its_entries_is_caught() -> None:
    s = consistent_shop()
    find(s.wallets, "ivan")["balance"] += 1
    assert_caught(s, balances_are_entries, naming="ivan")


# --- the bank ------------------------------------------------------------------------------


def test_a_bank_refund_the_shop_does_not_know_about_is_caught_naming_the_payment() -> None:
    s = consistent_shop()
    s.ledger.append(bank_refund("refund-ghost", "pay-card", 300))
    assert_caught(s, bank_matches_shop, naming="pay-card")


# --- gift cards ----------------------------------------------------------------------------


def test_a_completed_gift_card_order_without_a_card_is_caught_naming_the_order() -> None:
    s = consistent_shop()
    s.gift_cards.clear()
    s.entries = [e for e in s.entries if e["accountKind"] != "GIFT_CARD"]
    assert_caught(s, gift_cards_issued_once, naming="order-gift")


def test_a_completed_gift_card_order_with_two_cards_is_caught_naming_the_order() -> None:
    s = consistent_shop()
    s.gift_cards.append({"_id": "card-2", "orderId": "order-gift", "balance": 0})
    post(s, "GIFT_CARD", "card-2", 5000, "ISSUE", "pay-wallet")
    assert_caught(s, gift_cards_issued_once, naming="order-gift")


# --- orders --------------------------------------------------------------------------------


def test_a_cancelled_order_that_kept_its_bank_money_is_caught_naming_the_order() -> None:
    s = consistent_shop()
    find(s.payments, "pay-cancel")["status"] = "SUCCEEDED"
    s.ledger = [row for row in s.ledger if row["key"] != "pay-cancel:refund"]
    assert_caught(s, orders_paid_once, naming="order-cancel")


def test_a_cancelled_order_that_kept_its_wallet_money_is_caught_naming_the_order() -> None:
    s = consistent_shop()
    find(s.payments, "pay-back")["status"] = "SUCCEEDED"
    refund = next(e for e in s.entries if e["reason"] == "REFUND")
    s.entries.remove(refund)
    find(s.wallets, "ivan")["balance"] -= refund["amount"]
    assert_caught(s, orders_paid_once, naming="order-back")


# --- wallet and gift-card payments ---------------------------------------------------------


def test_a_wallet_payment_debited_twice_is_caught_naming_the_payment() -> None:
    s = consistent_shop()
    post(s, "WALLET", "ivan", -5000, "PAYMENT", "pay-wallet")
    assert_caught(s, billing_payments_once, naming="pay-wallet")


def test_a_billing_payment_refunded_twice_is_caught_naming_the_payment() -> None:
    s = consistent_shop()
    post(s, "WALLET", "ivan", 3000, "REFUND", "pay-back")
    assert_caught(s, billing_payments_once, naming="pay-back")
