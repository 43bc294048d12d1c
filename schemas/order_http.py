"""HTTP bodies of order_svc's edge (001 `POST /place`, `PUT /adjust`, `PUT /cancel`,
`PUT /process`, `GET /get`; ours: `PUT /checkout`, `GET /orders`, admin).

Prices are integer kopecks like every amount in sagashop (001's examples show roubles as
doubles); `total` and the delivery part are ours."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, EmailStr, Field

from schemas.base import MAX_ORDER_ITEMS, Money, NonEmptyStr, NonNegativeInt, WireModel
from schemas.billing import GIFT_CARD_MAX, GIFT_CARD_MIN, GiftCardDesign
from schemas.fulfilment import CancellationKind
from schemas.order import OrderStatus
from schemas.saga import DeliveryChoice, Disposition


class ProductRef(WireModel):
    model_config = ConfigDict(extra="ignore")

    id: NonNegativeInt


class ItemRequest(WireModel):
    """A position as the client sends it: `{product: {id}, quantity}` (001). In `/adjust` a
    quantity of 0 removes the product from the cart."""

    model_config = ConfigDict(extra="ignore")

    product: ProductRef
    quantity: Annotated[int, Field(ge=0, le=1000)]


class PlaceRequest(WireModel):
    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    order_items: Annotated[tuple[ItemRequest, ...], Field(min_length=1, max_length=MAX_ORDER_ITEMS)]


class AdjustRequest(WireModel):
    model_config = ConfigDict(extra="ignore")

    id: NonEmptyStr
    version: NonNegativeInt
    order_items: Annotated[tuple[ItemRequest, ...], Field(min_length=1, max_length=MAX_ORDER_ITEMS)]


class VersionedRef(WireModel):
    """`PUT /cancel` and `PUT /process`: the order and the version the client last read."""

    model_config = ConfigDict(extra="ignore")

    id: NonEmptyStr
    version: NonNegativeInt | None = None


class CheckoutRequest(WireModel):
    model_config = ConfigDict(extra="ignore")

    id: NonEmptyStr
    version: NonNegativeInt
    phone: NonEmptyStr
    delivery: DeliveryChoice  # courier: the accepted quote and the cost the customer saw


class ProductView(WireModel):
    id: int
    name: str
    price: Money


class PositionView(WireModel):
    id: int
    product: ProductView
    quantity: int
    total: Money


class HistoryEntry(WireModel):
    at: datetime
    status: OrderStatus
    by: str
    reason: str | None = None


class GiftCardOrderRequest(WireModel):
    """`POST /gift-card-orders` (header `Idempotency-Key` recommended): an order for one gift
    card of `amount` kopecks (500 ₽ to 50 000 ₽) for the donee, AWAITING_PAYMENT at once and
    paid through payment_svc's `POST /pay` like any order; once paid, billing issues the card,
    the donee gets its activation code by e-mail and the order is COMPLETED."""

    model_config = ConfigDict(extra="ignore")

    donee_name: Annotated[str, Field(min_length=1, max_length=100)]
    donee_email: EmailStr
    amount: Annotated[int, Field(ge=GIFT_CARD_MIN, le=GIFT_CARD_MAX, strict=True)]
    design: GiftCardDesign = GiftCardDesign.CLASSIC


class GiftCardView(WireModel):
    """What a gift-card order buys; `giftCardNumber` once the card is issued."""

    donee_name: str
    donee_email: str
    amount: Money
    design: GiftCardDesign
    gift_card_number: str | None = None


class CancellationView(WireModel):
    """A cancellation (or return) of a handed-over order: orchestra undoes it, then the order
    is CANCELLED (RETURNED); `doneAt` once it is."""

    kind: CancellationKind
    reason: str
    by: str
    requested_at: datetime
    disposition: Disposition = Disposition.RESTOCK
    done_at: datetime | None = None


class OrderView(WireModel):
    id: str
    kind: str = "GOODS"  # GOODS | GIFT_CARD
    status: OrderStatus
    version: int
    order_items: tuple[PositionView, ...]
    total: Money
    currency: str
    username: str
    phone: str | None = None
    delivery: dict[str, object] | None = None
    delivery_cost: Money = 0
    payment_id: str | None = None
    payment_error_message: str | None = None  # why the last payment attempt failed
    reason: str | None = None
    expires_at: datetime | None = None
    created_at: datetime
    history: tuple[HistoryEntry, ...] = ()
    gift_card: GiftCardView | None = None
    cancellation: CancellationView | None = None


class OrderPage(WireModel):
    items: tuple[OrderView, ...]
    page: int
    page_size: int
    total: int


class StatusChange(WireModel):
    status: OrderStatus
    reason: str | None = None


class ReturnRequest(WireModel):
    """`POST /admin/orders/{id}/return`: a COMPLETED order came back (admin-accepted); it is
    refunded and its goods restocked or written off."""

    model_config = ConfigDict(extra="ignore")

    reason: Annotated[str, Field(min_length=1, max_length=500)]
    disposition: Disposition = Disposition.RESTOCK


class AdminAction(WireModel):
    """One thing an admin did to an order (status change, cancellation, return)."""

    id: str
    order_id: str
    by: str
    at: datetime
    action: str  # status | cancel | return
    status: OrderStatus | None = None
    reason: str | None = None
    disposition: Disposition | None = None


class AdminActionPage(WireModel):
    items: tuple[AdminAction, ...]
    page: int
    page_size: int
    total: int


class OrderDetail(WireModel):
    """`GET /admin/orders/{id}`: the order with what its neighbours know of it (orchestra's
    saga, store's picking case, delivery's case; null when that part is missing or does not
    answer) and every admin action on it."""

    order: OrderView
    saga: dict[str, object] | None = None
    picking: dict[str, object] | None = None
    delivery: dict[str, object] | None = None
    actions: tuple[AdminAction, ...] = ()
