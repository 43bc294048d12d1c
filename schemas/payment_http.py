"""HTTP bodies of payment_svc's edge (SPEC §6 payment: `POST /pay`, `POST /top-ups`, `GET
/payments/{id}`, `/means`, `/refunds`), what
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
from schemas.payment import PaymentPurpose, TokenType

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
    """`POST /pay` (header `Idempotency-Key` required).

    - BANK_CARD: a new `card` (with `saveCard: true` to keep it as a means) or the `meansId` of
      a saved card;
    - QR_PAY (SBP): nothing more; the answer is PENDING with a QR code to scan;
    - WALLET: nothing more (the caller's wallet);
    - GIFT_CARD: the `meansId` of a gift card the caller activated.
    """

    model_config = ConfigDict(extra="ignore")

    order_id: NonEmptyStr = Field(max_length=100)
    method: TokenType
    card: CardDetails | None = None
    means_id: NonEmptyStr | None = Field(default=None, max_length=100)
    save_card: bool = False


class TopUpRequest(WireModel):
    """`POST /top-ups` (header `Idempotency-Key` required): credit the caller's wallet with
    `amount` kopecks (100 ₽ to 100 000 ₽) once the bank has captured it, by BANK_CARD (`card` or
    a saved card's `meansId`) or QR_PAY."""

    model_config = ConfigDict(extra="ignore")

    amount: Amount
    method: TokenType
    card: CardDetails | None = None
    means_id: NonEmptyStr | None = Field(default=None, max_length=100)
    save_card: bool = False


class QrCode(WireModel):
    """An SBP payment to scan: `payload` is what the QR code encodes, `image` the path of its
    SVG picture on payment_svc's edge; unpaid after `expiresAt`, the payment FAILS."""

    qr_id: NonEmptyStr
    payload: NonEmptyStr
    expires_at: datetime
    image: NonEmptyStr


class PayResponse(WireModel):
    """The attempt's current status: 200 when final, 202 while it is PENDING (the bank or the
    ledger has not answered yet, or a QR code waits to be scanned)."""

    payment_id: str
    status: PaymentState
    error_message: str | None = None  # why it FAILED
    order_id: str | None = None
    amount: Money | None = None
    qr: QrCode | None = None


class PaymentView(WireModel):
    """`GET /payments/{id}` (owner or admin)."""

    payment_id: str
    order_id: str
    username: str
    purpose: PaymentPurpose = PaymentPurpose.ORDER
    status: PaymentState
    amount: Money
    refunded: Money = 0
    currency: Currency
    method: TokenType
    masked_token_id: str
    error_message: str | None = None  # why it FAILED
    qr: QrCode | None = None
    created_at: datetime
    updated_at: datetime | None = None
    refunded_at: datetime | None = None


class GiftCardOrderInfo(WireModel):
    """The gift card a gift-card order buys (part of order_svc's order body)."""

    model_config = ConfigDict(extra="ignore")

    donee_name: NonEmptyStr
    donee_email: NonEmptyStr
    amount: Money
    design: NonEmptyStr


class PayableOrder(WireModel):
    """What payment reads of order_svc's `GET /get?orderId=` (the rest is ignored)."""

    model_config = ConfigDict(extra="ignore")

    id: NonEmptyStr
    status: NonEmptyStr
    version: NonNegativeInt
    total: Money
    currency: Currency = DEFAULT_CURRENCY
    kind: NonEmptyStr = "GOODS"  # GOODS | GIFT_CARD
    gift_card: GiftCardOrderInfo | None = None


# --- payment means ------------------------------------------------------------------------------


class SaveCardRequest(WireModel):
    """`POST /means/cards`: the bank tokenizes the card; only the token, brand, last four digits
    and expiry are kept."""

    model_config = ConfigDict(extra="ignore")

    card: CardDetails


class SavedCard(WireModel):
    """A saved bank card (`GET /means`, `POST /means/cards`)."""

    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    masked: str  # "**** 4242"
    expired: bool = False
    created_at: datetime | None = None
    can_pay: bool | None = None  # with `?orderId=` or `?amount=`: whether it can pay that
    reason: str | None = None  # why it cannot


class GiftCardMeans(WireModel):
    """A gift card the caller activated, as a means of payment."""

    id: str
    number: str
    balance: Money
    currency: Currency = DEFAULT_CURRENCY
    design: str | None = None
    can_pay: bool | None = None
    reason: str | None = None


class WalletMeans(WireModel):
    balance: Money
    currency: Currency = DEFAULT_CURRENCY
    can_pay: bool | None = None
    reason: str | None = None


class MeansQuery(WireModel):
    """`GET /means?orderId=` or `?amount=` (kopecks, ASCII digits): what the means should pay."""

    model_config = ConfigDict(extra="ignore")

    order_id: str | None = Field(default=None, min_length=1)
    amount: int | None = Field(default=None, ge=1, le=2**53 - 1)


class MeansList(WireModel):
    """`GET /means[?orderId=|?amount=]`: saved cards, activated gift cards with their balances
    and the wallet with its balance; with an order (or an amount) each says whether it can pay
    it. `qrPay` says whether SBP can (always, for a payable amount)."""

    cards: tuple[SavedCard, ...] = ()
    gift_cards: tuple[GiftCardMeans, ...] = ()
    wallet: WalletMeans | None = None
    amount: Money | None = None
    order_id: str | None = None


# --- refunds ------------------------------------------------------------------------------------


class RefundState(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"


class RefundCreate(WireModel):
    """Admin `POST /refunds` (header `Idempotency-Key` required): give back `amount` of a
    captured payment (partial allowed, never more than captured minus refunded), to the means
    that paid it."""

    model_config = ConfigDict(extra="ignore")

    payment_id: NonEmptyStr = Field(max_length=100)
    amount: Amount
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class RefundView(WireModel):
    """`POST /refunds`, `GET /refunds/{id}`."""

    refund_id: str
    payment_id: str
    order_id: str
    amount: Money
    currency: Currency
    reason: str
    status: RefundState
    method: TokenType
    masked_token_id: str
    created_by: str
    created_at: datetime
    refunded_at: datetime | None = None


# --- the bank's API ------------------------------------------------------------------------------


class BankStatus(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    PENDING = "pending"  # an SBP QR charge not yet paid (nor expired)


class SbpDetails(WireModel):
    """The fast-payment system (SBP) pays from the account bound to a phone number."""

    phone: Phone


class QrRequest(WireModel):
    """An SBP charge by QR code: the bank answers `pending` with the code; once the customer's
    bank app pays it (the simulator's `POST /qr/{qrId}/pay`) the bank calls `callbackUrl` with a
    signed `BankCallback`; unpaid after `ttlSeconds` it is declined ("QR code expired")."""

    callback_url: NonEmptyStr
    ttl_seconds: int = Field(default=300, ge=1, le=86_400)
    description: str | None = Field(default=None, max_length=200)


class ChargeRequest(WireModel):
    """`POST /charges`: exactly one of `card`, `cardToken`, `sbp` or `qr`. The same
    `idempotencyKey` always gets the same answer, so a charge whose answer was lost can be sent
    again safely."""

    idempotency_key: Key
    amount: Amount
    currency: Currency = DEFAULT_CURRENCY
    card: CardDetails | None = None
    card_token: Key | None = None
    sbp: SbpDetails | None = None
    qr: QrRequest | None = None


class BankQr(WireModel):
    qr_id: NonEmptyStr
    payload: NonEmptyStr
    expires_at: datetime


class ChargeAnswer(WireModel):
    """The bank's answer to a charge, also `GET /charges/{idempotencyKey}` (a QR charge is
    `pending` until paid or expired)."""

    charge_id: NonEmptyStr
    status: BankStatus
    decline_reason: str | None = None
    qr: BankQr | None = None


class BankCallback(WireModel):
    """What the bank POSTs to a QR charge's `callbackUrl` once it is paid (or expired), with
    the header `X-Bank-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under
    the shared webhook secret."""

    idempotency_key: Key
    charge_id: NonEmptyStr
    status: BankStatus
    decline_reason: str | None = None
    amount: Amount
    at: datetime


class CallbackReceived(WireModel):
    """payment_svc's answer to a bank callback it took."""

    received: bool


class TokenizeRequest(WireModel):
    """`POST /cards`: the bank keeps the card and answers a token for charging it later."""

    card: CardDetails


class CardToken(WireModel):
    """The same card number always gets the same token."""

    token: NonEmptyStr
    brand: NonEmptyStr
    last4: NonEmptyStr
    exp_month: int
    exp_year: int


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
    recorded it), declines by card number or SBP phone, and the share of QR callbacks that are
    lost (the shop must find out by polling)."""

    latency_ms: NonNegativeInt = 0
    timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    hang_seconds: float = Field(default=30.0, ge=0.0)
    declines: dict[str, str] = Field(default_factory=dict)
    callback_loss_rate: float = Field(default=0.0, ge=0.0, le=1.0)


class BankConfigUpdate(WireModel):
    """`PUT /config`: only the fields given change."""

    latency_ms: NonNegativeInt | None = None
    timeout_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    hang_seconds: float | None = Field(default=None, ge=0.0)
    declines: dict[str, str] | None = None
    callback_loss_rate: float | None = Field(default=None, ge=0.0, le=1.0)


class LedgerTotals(WireModel):
    """`GET /ledger`: money the bank moved (for chaos and bench checks)."""

    captured: NonNegativeInt
    refunded: NonNegativeInt
    charges: NonNegativeInt
    declined: NonNegativeInt
    refunds: NonNegativeInt
