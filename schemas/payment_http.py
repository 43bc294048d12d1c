"""HTTP bodies of payment_svc's edge (SPEC §6 payment: `POST /pay`, `GET /payments/{id}`), what
payment reads of order_svc's `GET /get`, and the bank API its adapter speaks (served on one
machine by `payment_svc.bank_sim`).

Amounts are integer kopecks. Card numbers and CVCs are never stored or logged: only the masked
means (`**** 4242`) is kept with a payment.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from schemas.base import (
    DEFAULT_CURRENCY,
    Currency,
    Money,
    NonEmptyStr,
    NonNegativeInt,
    WireModel,
)
from schemas.payment import TokenType

CardNumber = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9 ]{12,23}$")]
"""12-19 digits, spaces between groups allowed."""

Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9]{10,15}$")]
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Amount = Annotated[int, Field(ge=1, strict=True)]


class PaymentState(StrEnum):
    """A payment attempt: PENDING -> SUCCEEDED | FAILED; SUCCEEDED -> REFUND_PENDING ->
    REFUNDED (and FAILED -> REFUND_PENDING when the bank turns out to have captured an attempt
    that was given up). `status` on the wire."""

    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    REFUND_PENDING = "REFUND_PENDING"
    REFUNDED = "REFUNDED"


class CardDetails(WireModel):
    """A bank card as the customer types it (never stored)."""

    model_config = ConfigDict(extra="ignore")

    number: CardNumber = Field(repr=False)
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2099)
    cvc: str = Field(pattern=r"^[0-9]{3,4}$", repr=False)

    @property
    def digits(self) -> str:
        return self.number.replace(" ", "")


# --- payment_svc's edge -------------------------------------------------------------------------


class PayRequest(WireModel):
    """`POST /pay` (header `Idempotency-Key` required): BANK_CARD needs `card`, QR_PAY (SBP)
    needs `phone`. WALLET and GIFT_CARD are not supported yet; nor is `meansId` (saved means)."""

    model_config = ConfigDict(extra="ignore")

    order_id: NonEmptyStr = Field(max_length=100)
    method: TokenType
    card: CardDetails | None = None
    phone: Phone | None = None
    means_id: NonEmptyStr | None = None


class PayResponse(WireModel):
    """The attempt's current status: 200 when final, 202 while the bank's answer is pending."""

    payment_id: str
    status: PaymentState
    error_msg: str | None = None


class PaymentView(WireModel):
    """`GET /payments/{id}` (owner or admin)."""

    payment_id: str
    order_id: str
    username: str
    status: PaymentState
    amount: Money
    currency: Currency
    method: TokenType
    masked_token_id: str
    error_msg: str | None = None
    created_at: datetime
    updated_at: datetime | None = None
    refunded_at: datetime | None = None


class PayableOrder(WireModel):
    """What payment reads of order_svc's `GET /get?orderId=` (the rest is ignored)."""

    model_config = ConfigDict(extra="ignore")

    id: NonEmptyStr
    status: NonEmptyStr
    version: NonNegativeInt
    total: Money
    currency: Currency = DEFAULT_CURRENCY


# --- the bank's API ------------------------------------------------------------------------------


class BankStatus(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"


class SbpDetails(WireModel):
    """The fast-payment system (SBP) pays from the account bound to a phone number."""

    phone: Phone


class ChargeRequest(WireModel):
    """`POST /charges`: exactly one of `card` or `sbp`. The same `idempotencyKey` always gets
    the same answer, so a charge whose answer was lost can be sent again safely."""

    idempotency_key: Key
    amount: Amount
    currency: Currency = DEFAULT_CURRENCY
    card: CardDetails | None = None
    sbp: SbpDetails | None = None


class ChargeAnswer(WireModel):
    """The bank's answer to a charge, also `GET /charges/{idempotencyKey}`."""

    charge_id: NonEmptyStr
    status: BankStatus
    decline_reason: str | None = None


class RefundRequest(WireModel):
    """`POST /refunds`: never more than was charged, over all refunds of the charge."""

    idempotency_key: Key
    charge_id: NonEmptyStr
    amount: Amount


class RefundAnswer(WireModel):
    refund_id: NonEmptyStr
    status: BankStatus
    decline_reason: str | None = None


class BankConfig(WireModel):
    """The simulator's behaviour (`GET|PUT /config`): latency of every bank call, the share of
    charges and refunds whose answer is lost (the call hangs `hangSeconds` after the bank has
    recorded it) and declines by card number or SBP phone."""

    latency_ms: NonNegativeInt = 0
    timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    hang_seconds: float = Field(default=30.0, ge=0.0)
    declines: dict[str, str] = Field(default_factory=dict)


class BankConfigUpdate(WireModel):
    """`PUT /config`: only the fields given change."""

    latency_ms: NonNegativeInt | None = None
    timeout_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    hang_seconds: float | None = Field(default=None, ge=0.0)
    declines: dict[str, str] | None = None


class LedgerTotals(WireModel):
    """`GET /ledger`: money the bank moved (for chaos and bench checks)."""

    captured: NonNegativeInt
    refunded: NonNegativeInt
    charges: NonNegativeInt
    declined: NonNegativeInt
    refunds: NonNegativeInt
