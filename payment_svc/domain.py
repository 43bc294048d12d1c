"""Payments as pure rules: the attempt's status machine, what an order's payment state allows,
the means a customer pays with (masked), and the answers to the saga's CONFIRM and REVERSE.

PENDING -> SUCCEEDED | FAILED           (the bank captured the money, or declined)
SUCCEEDED -> REFUND_PENDING -> REFUNDED (REVERSE from the saga, or a cancelled order)
FAILED -> REFUND_PENDING                (the bank turned out to have captured an attempt that
                                         was given up: the money goes back)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from schemas.billing import TOP_UP_MAX, TOP_UP_MIN
from schemas.payment import PaymentPurpose, TokenType
from schemas.payment_http import CardDetails, PaymentState
from schemas.saga import SagaResponse
from servicekit.errors import Conflict, DomainError, InvalidRequest

P = PaymentState
TRANSITIONS: dict[P, frozenset[P]] = {
    P.PENDING: frozenset({P.SUCCEEDED, P.FAILED}),
    P.SUCCEEDED: frozenset({P.REFUND_PENDING}),
    P.FAILED: frozenset({P.REFUND_PENDING}),
    P.REFUND_PENDING: frozenset({P.REFUNDED}),
    P.REFUNDED: frozenset(),
}
PAYABLE_ORDER_STATUS = "AWAITING_PAYMENT"
NOT_AT_BANK = "the payment did not reach the bank; please try again"


class IllegalTransition(Conflict):
    def __init__(self, current: P, wanted: P) -> None:
        super().__init__(f"not possible to change the payment status from {current} to {wanted}")


class KeyReused(DomainError):
    """The Idempotency-Key was first used for another request (IETF idempotency draft: 422)."""

    status = 422


def check_transition(current: P, wanted: P) -> None:
    if wanted not in TRANSITIONS[current]:
        raise IllegalTransition(current, wanted)


# --- means --------------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def mask_card(digits: str) -> str:
    return f"**** {digits[-4:]}"


def mask_gift_card(number: str) -> str:
    return f"GC-****-{number[-4:]}"


def card_expired(exp_month: int, exp_year: int, now: datetime) -> bool:
    """A card is good through the last day of its expiry month."""
    return (exp_year, exp_month) < (now.year, now.month)


def check_new_card(card: CardDetails | None) -> CardDetails:
    """The typed card, or a 400 saying what is wrong with it."""
    if card is None:
        raise InvalidRequest("card (or the meansId of a saved card) is required for BANK_CARD")
    if not 12 <= len(card.digits) <= 19 or not luhn_ok(card.digits):
        raise InvalidRequest("card number is invalid")
    return card


def check_top_up(amount: int, method: TokenType) -> None:
    if not TOP_UP_MIN <= amount <= TOP_UP_MAX:
        raise InvalidRequest(
            f"a top-up is from {TOP_UP_MIN} to {TOP_UP_MAX} kopecks (100 ₽ to 100 000 ₽)"
        )
    if method not in (TokenType.BANK_CARD, TokenType.QR_PAY):
        raise InvalidRequest("a wallet is topped up by BANK_CARD or QR_PAY")


def short_balance(what: str, balance: int, amount: int) -> str | None:
    """Why an account of `balance` cannot pay `amount`; None when it can."""
    if balance >= amount:
        return None
    where = f" {what}" if what else ""
    return f"not enough money{where}: balance {balance}, to pay {amount} (kopecks)"


# --- the order's payment state ----------------------------------------------------------------


@dataclass(frozen=True)
class OrderPayments:
    """Per order: the attempt holding it (at most one at a time), the captured payment (at most
    one ever) and whether it was reversed (then it takes no payment and CONFIRM fails)."""

    holder: str | None = None
    paid: str | None = None
    reversed: bool = False


def check_payable(order_status: str, total: int, state: OrderPayments) -> None:
    if state.reversed:
        raise Conflict("the order's payment was reversed; it takes no more payments")
    if state.paid:
        raise Conflict("order already paid")
    if order_status != PAYABLE_ORDER_STATUS:
        raise Conflict(f"the order is {order_status}, not {PAYABLE_ORDER_STATUS}")
    if state.holder:
        raise Conflict("a payment for this order is already in progress")
    if total <= 0:
        raise Conflict("the order has nothing to pay")


class Via(StrEnum):
    """Who moves the money of an attempt: the bank (card, SBP) or billing (wallet, gift card)."""

    BANK = "bank"
    BILLING = "billing"


@dataclass(frozen=True)
class Attempt:
    payment_id: str
    order_id: str
    username: str
    idem_key: str
    amount: int
    currency: str
    method: TokenType
    masked: str
    created_at: datetime
    purpose: PaymentPurpose = PaymentPurpose.ORDER
    means_id: str | None = None  # a saved card, or the gift card paid from
    account_id: str | None = None  # billing's account (wallet: username; gift card: its id)

    @property
    def via(self) -> Via:
        return Via.BILLING if self.method in BILLING_METHODS else Via.BANK


BILLING_METHODS = frozenset({TokenType.WALLET, TokenType.GIFT_CARD})


# --- the bank's answer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settlement:
    """What the bank's answer to a PENDING attempt makes of it."""

    status: P
    error_msg: str | None
    refund: bool  # captured, but the order was reversed meanwhile: give the money back
    reverse_done: bool  # a REVERSE waited for this attempt and nothing was captured


def settle(captured: bool, decline_reason: str | None, reverse_asked: bool) -> Settlement:
    if captured:
        return Settlement(P.SUCCEEDED, None, refund=reverse_asked, reverse_done=False)
    return Settlement(
        P.FAILED, decline_reason or "declined", refund=False, reverse_done=reverse_asked
    )


# --- the saga -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Captured:
    status: P
    amount: int
    refunded: int = 0  # given back (or on its way back) by admin refunds


# --- refunds ------------------------------------------------------------------------------------


def check_refundable(status: P, amount: int, reserved: int, wanted: int) -> None:
    """An admin refund: only of a captured payment, never more than is left of it."""
    if status is not P.SUCCEEDED:
        raise Conflict(f"the payment is {status}: it has nothing to refund")
    left = amount - reserved
    if wanted > left:
        raise Conflict(f"the refund exceeds what is left of the payment ({left} kopecks)")


def rest_to_refund(amount: int, reserved: int) -> int:
    """What a full refund (the saga's REVERSE) still gives back after the admin refunds."""
    return max(amount - reserved, 0)


def confirmation(
    state: OrderPayments, payment: Captured | None, total: int | None
) -> tuple[SagaResponse, str | None]:
    """CONFIRM: the order has a captured payment whose amount is the order's total."""
    if state.reversed:
        return SagaResponse.FAIL, "the payment was reversed"
    if payment is None:
        return SagaResponse.FAIL, "no payment for the order"
    if payment.status is not P.SUCCEEDED:
        return SagaResponse.FAIL, f"the payment is {payment.status}"
    if payment.refunded:
        return SagaResponse.FAIL, f"{payment.refunded} of the payment was refunded"
    if total is None:
        return SagaResponse.FAIL, "the request carries no order total to check"
    if payment.amount != total:
        return SagaResponse.FAIL, f"amount mismatch: paid {payment.amount}, order total {total}"
    return SagaResponse.SUCCESS, None


class Reversal(StrEnum):
    """What a REVERSE does to the order's payment."""

    REFUND = "refund"  # captured: refund it; SUCCESS once the bank has refunded
    AWAIT_REFUND = "await_refund"  # a refund is already on its way: SUCCESS once it is done
    AWAIT_CHARGE = "await_charge"  # the bank has not answered the holder yet: decide then
    DONE = "done"  # nothing (more) to give back: SUCCESS now


def reversal(state: OrderPayments, paid_status: P | None) -> Reversal:
    if paid_status is P.SUCCEEDED:
        return Reversal.REFUND
    if paid_status is P.REFUND_PENDING:
        return Reversal.AWAIT_REFUND
    if paid_status is None and state.holder:
        return Reversal.AWAIT_CHARGE
    return Reversal.DONE
