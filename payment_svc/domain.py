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

from schemas.payment import TokenType
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


def mask_phone(phone: str) -> str:
    digits = phone.lstrip("+")
    country = f"+{digits[:-10]} " if len(digits) > 10 else ""
    return f"{country}*** ***-{digits[-4:-2]}-{digits[-2:]}"


def masked_means(method: TokenType, card: CardDetails | None, phone: str | None) -> str:
    """The masked token of what the customer pays with; 400 when it cannot be used."""
    if method in (TokenType.WALLET, TokenType.GIFT_CARD):
        raise InvalidRequest(f"{method} payments are not supported yet")
    if method is TokenType.QR_PAY:
        if not phone:
            raise InvalidRequest("phone is required for QR_PAY (SBP)")
        return mask_phone(phone)
    if card is None:
        raise InvalidRequest("card is required for BANK_CARD")
    if not 12 <= len(card.digits) <= 19 or not luhn_ok(card.digits):
        raise InvalidRequest("card number is invalid")
    return mask_card(card.digits)


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
