"""payment bounded context: payment notifications (001 §4) and the order payment event."""

from __future__ import annotations

from enum import StrEnum

from schemas.base import (
    DEFAULT_CURRENCY,
    Currency,
    Money,
    NonEmptyStr,
    Timestamp,
    WireModel,
    message,
)
from schemas.saga import SagaResponse


class TokenType(StrEnum):
    """The kind of payment means (001)."""

    BANK_CARD = "BANK_CARD"
    QR_PAY = "QR_PAY"
    GIFT_CARD = "GIFT_CARD"
    WALLET = "WALLET"


class PaymentRequestType(StrEnum):
    CHARGE = "CHARGE"
    REVERSE = "REVERSE"


class PaymentPurpose(StrEnum):
    """What a payment pays for."""

    ORDER = "ORDER"  # an order of goods
    GIFT_CARD = "GIFT_CARD"  # a gift-card order (order_svc `POST /gift-card-orders`)
    TOP_UP = "TOP_UP"  # a wallet top-up (payment_svc `POST /top-ups`)


class PaymentStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@message
class PaymentNotification(WireModel):
    """payment -> notification: result of a CHARGE or REVERSE (001).

    `orderId` is the id of what was paid for: an order, a wallet top-up or a gift-card purchase
    (`purpose` says which). `errorMsg` should be set when `response` is FAIL. `amount` is what
    was charged (CHARGE) or given back (REVERSE: a refund, possibly partial), in kopecks.
    """

    order_id: NonEmptyStr
    username: NonEmptyStr
    request_type: PaymentRequestType
    token_type: TokenType
    masked_token_id: NonEmptyStr
    response: SagaResponse
    error_msg: str | None = None
    timestamp: Timestamp
    payment_id: NonEmptyStr | None = None
    purpose: PaymentPurpose | None = None  # None: an order of goods (001's message)
    amount: Money | None = None
    currency: Currency | None = None
    reason: str | None = None  # why a refund was made


@message
class OrderPaymentEvent(WireModel):
    """payment -> order_svc: the order was paid (moves it to PAID) or the payment failed."""

    order_id: NonEmptyStr
    payment_id: NonEmptyStr
    amount: Money
    currency: Currency = DEFAULT_CURRENCY
    status: PaymentStatus
    error_msg: str | None = None
    timestamp: Timestamp
