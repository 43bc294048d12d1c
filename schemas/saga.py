"""Saga contracts (001 §3 orchestra, §4 streams; SPEC §5a).

order_svc -> orchestra: `OrderConfirmationRequest`; orchestra -> payment/store/delivery:
`ConfirmationRequest`; participants -> orchestra: `ConfirmationReply`; orchestra -> order_svc:
`OrderOutcome`; orchestra -> notification_svc: `SagaNotification`.

Interpretations of 001:
- `productPrice` is a double in 001's examples (20.20); here it is integer kopecks (2020).
- The participants' reply model spells `respone`; its example (and our output) says `response`.
  `respone` is still accepted on input.
- `reason` on a reply / outcome is optional; participants should fill it on FAIL (the failing
  participant's reason becomes the order's cancel reason), but a missing one is not an error, so
  that a terse FAIL is never dead-lettered.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AliasChoices, Field

from schemas.base import (
    DEFAULT_CURRENCY,
    MAX_ORDER_ITEMS,
    Currency,
    Money,
    NonEmptyStr,
    NonNegativeInt,
    PositiveQty,
    Timestamp,
    Version,
    WireModel,
    message,
)


class RequestType(StrEnum):
    CONFIRM = "CONFIRM"
    REVERSE = "REVERSE"


class Confirmator(StrEnum):
    PAYMENT = "PAYMENT"
    STORE = "STORE"
    DELIVERY = "DELIVERY"


class Disposition(StrEnum):
    """What the store does with goods it had booked for an order being undone."""

    RESTOCK = "RESTOCK"  # back on hand, sellable again (the default)
    WRITE_OFF = "WRITE_OFF"  # damaged or lost: booked units leave the stock for good


class SagaResponse(StrEnum):
    SUCCESS = "SUCCESS"
    FAIL = "FAIL"


class OrderItem(WireModel):
    """A position of the order: `{id, productId, productName, productPrice, quantity}`."""

    id: NonNegativeInt
    product_id: NonNegativeInt
    product_name: NonEmptyStr
    product_price: Money
    quantity: PositiveQty


OrderItems = Annotated[tuple[OrderItem, ...], Field(min_length=1, max_length=MAX_ORDER_ITEMS)]
"""1..20 positions (SPEC §4)."""


class PickupChoice(WireModel):
    """The customer picks the order up at a pickup point."""

    type: Literal["pickup"] = "pickup"
    point_id: NonNegativeInt  # an int, as in 001's delivery stream


class CourierChoice(WireModel):
    """A courier brings the order to `address`; `cost` is the accepted quote's price."""

    type: Literal["courier"] = "courier"
    address: NonEmptyStr
    courier_company: NonEmptyStr
    quote_id: NonEmptyStr
    cost: Money


DeliveryChoice = Annotated[PickupChoice | CourierChoice, Field(discriminator="type")]
"""The delivery method chosen at checkout, told apart by `type` (`pickup` | `courier`)."""


@message
class OrderConfirmationRequest(WireModel):
    """order_svc -> orchestra: a paid order to confirm (001 "orders requiring confirmation").

    001 gives `{orderId, version, userName, orderItems}`; `total`, `currency`, `delivery` and
    `paymentId` are ours, so that each participant can check its part without calling back.
    """

    order_id: NonEmptyStr
    version: Version
    username: NonEmptyStr = Field(alias="userName")
    order_items: OrderItems
    total: Money
    currency: Currency = DEFAULT_CURRENCY
    delivery: DeliveryChoice | None = None
    payment_id: NonEmptyStr | None = None


@message
class ConfirmationRequest(WireModel):
    """orchestra -> payment / store / delivery: CONFIRM or REVERSE the order's part."""

    order_id: NonEmptyStr
    request_type: RequestType
    confirmator: Confirmator
    order_items: OrderItems
    total: Money | None = None
    # 001 gives this message no customer; ours is `username` like every field but the seed's
    # own `userName` (a message sent before this spelling, with `userName`, is still read)
    username: NonEmptyStr | None = Field(
        default=None, validation_alias=AliasChoices("username", "userName")
    )
    delivery: DeliveryChoice | None = None
    payment_id: NonEmptyStr | None = None
    # REVERSE only: what the store does with goods it booked (None: RESTOCK)
    disposition: Disposition | None = None


@message
class ConfirmationReply(WireModel):
    """payment / store / delivery -> orchestra: the participant's answer (reason on FAIL)."""

    order_id: NonEmptyStr
    request_type: RequestType
    confirmator: Confirmator
    response: SagaResponse = Field(
        validation_alias=AliasChoices("response", "respone"), serialization_alias="response"
    )
    reason: str | None = None


@message
class OrderOutcome(WireModel):
    """orchestra -> order_svc: the saga's result for the order at `version`."""

    order_id: NonEmptyStr
    version: Version
    response: SagaResponse
    reason: str | None = None


@message
class SagaNotification(WireModel):
    """orchestra -> notification_svc: `{orderId, username, response, timestamp}` (001)."""

    order_id: NonEmptyStr
    username: NonEmptyStr
    response: SagaResponse
    timestamp: Timestamp
