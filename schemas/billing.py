"""billing bounded context: the ledger of wallets and gift cards.

payment -> billing: `BillingRequest` (debit a wallet or gift card for a payment, credit one for a
top-up or a refund), answered by `BillingReply`; order_svc -> billing: `GiftCardIssueRequest`
once a gift-card order is paid, answered by `GiftCardIssued`; billing -> notification:
`GiftCardDelivery` (the activation code for the donee, 001 §4).

Every applied request is one ledger entry whose `_id` is the request's `requestId`: a request
seen twice changes a balance once.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import EmailStr, Field

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

Amount = Annotated[int, Field(ge=1, strict=True)]
"""A positive number of kopecks."""

GIFT_CARD_MIN = 50_000
"""A gift card is worth at least 500 ₽ ..."""
GIFT_CARD_MAX = 5_000_000
"""... and at most 50 000 ₽."""
TOP_UP_MIN = 10_000
"""A wallet top-up is at least 100 ₽ ..."""
TOP_UP_MAX = 10_000_000
"""... and at most 100 000 ₽ at a time."""


class GiftCardDesign(StrEnum):
    """The card designs a buyer chooses from (001 scenario 7)."""

    CLASSIC = "classic"
    BIRTHDAY = "birthday"
    HOLIDAY = "holiday"
    FLOWERS = "flowers"


class AccountKind(StrEnum):
    WALLET = "WALLET"
    GIFT_CARD = "GIFT_CARD"


class LedgerOp(StrEnum):
    DEBIT = "DEBIT"
    CREDIT = "CREDIT"


class EntryReason(StrEnum):
    """Why a balance changed."""

    PAYMENT = "PAYMENT"  # debit: an order (or gift card) paid from the account
    TOP_UP = "TOP_UP"  # credit: money captured by the bank for a wallet top-up
    REFUND = "REFUND"  # credit: a payment from this account given back
    ISSUE = "ISSUE"  # credit: a gift card's initial value


@message
class BillingRequest(WireModel):
    """payment -> billing (key: `accountId`, so one account's requests stay in order).

    DEBIT takes `amount` from an account `username` owns (a wallet is owned by its user, a gift
    card by who activated it) if the balance covers it; CREDIT adds it (a wallet that was not
    opened yet is opened). `requestId` is the idempotency key of the entry.
    """

    request_id: NonEmptyStr
    op: LedgerOp
    account_kind: AccountKind
    account_id: NonEmptyStr
    username: NonEmptyStr
    amount: Amount
    currency: Currency = DEFAULT_CURRENCY
    reason: EntryReason
    payment_id: NonEmptyStr
    order_id: NonEmptyStr
    timestamp: Timestamp


@message
class BillingReply(WireModel):
    """billing -> payment (key: `paymentId`): the request applied (SUCCESS, with the account's
    balance after it) or refused (FAIL with a reason: not enough money, not the caller's
    account, a gift card not active)."""

    request_id: NonEmptyStr
    payment_id: NonEmptyStr
    op: LedgerOp
    account_kind: AccountKind
    account_id: NonEmptyStr
    response: SagaResponse
    reason: str | None = None
    balance: Money | None = None
    timestamp: Timestamp


@message
class GiftCardIssueRequest(WireModel):
    """order_svc -> billing (key: `orderId`): a gift-card order was paid; issue its card."""

    order_id: NonEmptyStr
    payment_id: NonEmptyStr
    buyer: NonEmptyStr
    amount: Amount
    currency: Currency = DEFAULT_CURRENCY
    design: GiftCardDesign
    donee_name: NonEmptyStr
    donee_email: EmailStr
    timestamp: Timestamp


@message
class GiftCardIssued(WireModel):
    """billing -> order_svc (key: `orderId`): the card of a paid gift-card order exists (the
    order is COMPLETED). `number` is the card's printed number, never its activation code."""

    order_id: NonEmptyStr
    payment_id: NonEmptyStr
    gift_card_id: NonEmptyStr
    number: NonEmptyStr
    amount: Amount
    timestamp: Timestamp


@message
class GiftCardDelivery(WireModel):
    """billing -> notification: the purchased gift card for the donee, with its activation code
    (the only place the code ever appears; billing keeps only its hash).

    001's purchase form (scenario 7) asks only for the donee's name, so `doneeLastName` may be
    left out although the stream lists it. The fields after `doneeEmail` are ours (001's message
    has only the first four); billing always sets them.
    """

    gift_card_number: NonEmptyStr
    activation_code: NonEmptyStr | None = Field(default=None, repr=False)
    donee_first_name: NonEmptyStr
    donee_last_name: NonEmptyStr | None = None
    donee_email: EmailStr
    amount: Money | None = None
    currency: Currency | None = None
    design: GiftCardDesign | None = None
    order_id: NonEmptyStr | None = None
