"""HTTP bodies of billing_svc's edge: `GET /wallet`, `GET /gift-cards`,
`POST /gift-cards/activate`. Amounts are integer kopecks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, StringConstraints

from schemas.base import DEFAULT_CURRENCY, Currency, Money, WireModel
from schemas.billing import AccountKind, EntryReason, GiftCardDesign


class EntryView(WireModel):
    """One change of a balance: positive for a credit, negative for a debit."""

    id: str
    amount: int
    balance_after: Money
    reason: EntryReason
    payment_id: str | None = None
    order_id: str | None = None
    at: datetime


class WalletView(WireModel):
    """`GET /wallet`: the caller's balance and its most recent entries, newest first."""

    username: str
    balance: Money
    currency: Currency = DEFAULT_CURRENCY
    entries: tuple[EntryView, ...] = ()


class GiftCardView(WireModel):
    """A gift card the caller activated (`GET /gift-cards`, `POST /gift-cards/activate`)."""

    id: str
    number: str
    kind: AccountKind = AccountKind.GIFT_CARD
    amount: Money  # its value when issued
    balance: Money
    currency: Currency = DEFAULT_CURRENCY
    design: GiftCardDesign
    activated_at: datetime | None = None


class GiftCardList(WireModel):
    items: tuple[GiftCardView, ...] = ()


ActivationCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=4, max_length=64)
]


class ActivateRequest(WireModel):
    """`POST /gift-cards/activate`: the code the donee received by e-mail (dashes, spaces and
    letter case do not matter)."""

    model_config = ConfigDict(extra="ignore")

    code: ActivationCode
