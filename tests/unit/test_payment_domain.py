"""payment_svc's pure rules: the attempt's status machine, payable orders, masked means and the
answers to the saga's CONFIRM and REVERSE."""

from __future__ import annotations

import pytest

from payment_svc import domain
from payment_svc.domain import Captured, OrderPayments, Reversal
from schemas.payment import TokenType
from schemas.payment_http import CardDetails
from schemas.payment_http import PaymentState as P
from schemas.saga import SagaResponse
from servicekit.errors import Conflict, InvalidRequest


def card(number: str = "4242 4242 4242 4242") -> CardDetails:
    return CardDetails(number=number, exp_month=12, exp_year=2030, cvc="123")


def test_a_payment_goes_pending_succeeded_refund_pending_refunded():
    for current, wanted in [
        (P.PENDING, P.SUCCEEDED),
        (P.PENDING, P.FAILED),
        (P.SUCCEEDED, P.REFUND_PENDING),
        (P.REFUND_PENDING, P.REFUNDED),
    ]:
        domain.check_transition(current, wanted)


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (P.REFUNDED, P.REFUND_PENDING),
        (P.SUCCEEDED, P.FAILED),
        (P.FAILED, P.SUCCEEDED),
        (P.PENDING, P.REFUNDED),
        (P.SUCCEEDED, P.PENDING),
    ],
)
def test_a_transition_outside_the_machine_is_refused_naming_both_states(current: P, wanted: P):
    with pytest.raises(Conflict, match=f"from {current} to {wanted}"):
        domain.check_transition(current, wanted)


def test_a_card_is_shown_only_by_its_last_four_digits():
    assert domain.mask_card(card().digits) == "**** 4242"


def test_a_gift_card_is_shown_only_by_its_last_four_digits():
    assert domain.mask_gift_card("GC-4821-0093-1177") == "GC-****-1177"


@pytest.mark.parametrize(
    ("typed", "message"),
    [(None, "card .*is required"), (card("4242 4242 4242 4241"), "card number is invalid")],
)
def test_a_new_card_that_cannot_pay_is_refused_with_a_reason(
    typed: CardDetails | None, message: str
):
    with pytest.raises(InvalidRequest, match=message):
        domain.check_new_card(typed)


@pytest.mark.parametrize(
    ("amount", "method", "message"),
    [
        (9_999, TokenType.BANK_CARD, "a top-up is from 10000"),
        (10_000_001, TokenType.QR_PAY, "a top-up is from"),
        (50_000, TokenType.WALLET, "BANK_CARD or QR_PAY"),
        (50_000, TokenType.GIFT_CARD, "BANK_CARD or QR_PAY"),
    ],
)
def test_a_top_up_out_of_bounds_or_from_the_ledger_is_refused(
    amount: int, method: TokenType, message: str
):
    with pytest.raises(InvalidRequest, match=message):
        domain.check_top_up(amount, method)


def test_a_top_up_within_bounds_by_card_or_sbp_is_accepted():
    domain.check_top_up(10_000, TokenType.BANK_CARD)
    domain.check_top_up(10_000_000, TokenType.QR_PAY)


def test_a_balance_short_of_the_amount_says_both_figures():
    assert domain.short_balance("in the wallet", 100_000, 100_000) is None
    why = domain.short_balance("in the wallet", 99_999, 100_000)
    assert why == "not enough money in the wallet: balance 99999, to pay 100000 (kopecks)"


def test_a_card_expires_after_the_last_day_of_its_month():
    from datetime import UTC, datetime

    now = datetime(2026, 12, 4, tzinfo=UTC)
    assert not domain.card_expired(12, 2026, now)
    assert domain.card_expired(11, 2026, now)


def test_an_admin_refund_never_takes_more_than_is_left_of_a_captured_payment():
    domain.check_refundable(P.SUCCEEDED, 10_000, 4_000, 6_000)
    with pytest.raises(Conflict, match="left of the payment \\(2000 kopecks\\)"):
        domain.check_refundable(P.SUCCEEDED, 10_000, 8_000, 2_001)
    with pytest.raises(Conflict, match="REFUNDED: it has nothing to refund"):
        domain.check_refundable(P.REFUNDED, 10_000, 0, 1)
    assert domain.rest_to_refund(10_000, 4_000) == 6_000


def test_a_payment_partly_refunded_does_not_confirm_an_order():
    response, reason = domain.confirmation(
        OrderPayments(paid="p1"), Captured(P.SUCCEEDED, 2500, 500), 2500
    )
    assert response is SagaResponse.FAIL and "500 of the payment was refunded" in (reason or "")


def test_an_order_awaiting_payment_with_nothing_running_is_payable():
    domain.check_payable("AWAITING_PAYMENT", 2500, OrderPayments())


@pytest.mark.parametrize(
    ("status", "total", "state", "message"),
    [
        ("NEW", 2500, OrderPayments(), "is NEW, not AWAITING_PAYMENT"),
        ("PAID", 2500, OrderPayments(paid="p1"), "order already paid"),
        ("AWAITING_PAYMENT", 2500, OrderPayments(holder="p1"), "already in progress"),
        ("AWAITING_PAYMENT", 2500, OrderPayments(reversed=True), "reversed"),
        ("AWAITING_PAYMENT", 0, OrderPayments(), "nothing to pay"),
    ],
)
def test_an_order_is_not_payable_when_paid_held_reversed_or_not_awaiting_payment(
    status: str, total: int, state: OrderPayments, message: str
):
    with pytest.raises(Conflict, match=message):
        domain.check_payable(status, total, state)


def test_a_captured_charge_succeeds_and_a_declined_one_fails_with_the_bank_reason():
    ok = domain.settle(captured=True, decline_reason=None, reverse_asked=False)
    assert (ok.status, ok.refund, ok.reverse_done) == (P.SUCCEEDED, False, False)
    bad = domain.settle(captured=False, decline_reason="insufficient funds", reverse_asked=False)
    assert (bad.status, bad.error_msg) == (P.FAILED, "insufficient funds")


def test_a_charge_answered_after_a_reverse_is_refunded_or_answers_the_reverse():
    captured = domain.settle(captured=True, decline_reason=None, reverse_asked=True)
    assert captured.status is P.SUCCEEDED and captured.refund
    declined = domain.settle(captured=False, decline_reason="declined", reverse_asked=True)
    assert declined.reverse_done and not declined.refund


def test_confirm_succeeds_for_a_captured_payment_of_exactly_the_order_total():
    state = OrderPayments(paid="p1")
    assert domain.confirmation(state, Captured(P.SUCCEEDED, 2500), 2500) == (
        SagaResponse.SUCCESS,
        None,
    )


@pytest.mark.parametrize(
    ("state", "payment", "total", "reason"),
    [
        (OrderPayments(), None, 2500, "no payment"),
        (OrderPayments(paid="p1"), Captured(P.SUCCEEDED, 2400), 2500, "amount mismatch"),
        (OrderPayments(paid="p1"), Captured(P.REFUNDED, 2500), 2500, "REFUNDED"),
        (OrderPayments(paid="p1", reversed=True), Captured(P.SUCCEEDED, 2500), 2500, "reversed"),
        (OrderPayments(paid="p1"), Captured(P.SUCCEEDED, 2500), None, "no order total"),
    ],
)
def test_confirm_fails_with_a_reason_without_a_matching_captured_payment(
    state: OrderPayments, payment: Captured | None, total: int | None, reason: str
):
    response, why = domain.confirmation(state, payment, total)
    assert response is SagaResponse.FAIL and why is not None and reason in why


@pytest.mark.parametrize(
    ("state", "paid_status", "expected"),
    [
        (OrderPayments(paid="p1"), P.SUCCEEDED, Reversal.REFUND),
        (OrderPayments(paid="p1"), P.REFUND_PENDING, Reversal.AWAIT_REFUND),
        (OrderPayments(paid="p1"), P.REFUNDED, Reversal.DONE),
        (OrderPayments(holder="p2"), None, Reversal.AWAIT_CHARGE),
        (OrderPayments(), None, Reversal.DONE),
    ],
)
def test_reverse_refunds_what_was_captured_once_and_answers_at_once_when_nothing_was(
    state: OrderPayments, paid_status: P | None, expected: Reversal
):
    assert domain.reversal(state, paid_status) is expected
