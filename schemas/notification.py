"""notification bounded context: 003's order and registration notifications by sms / e-mail.

003's comments on the contact fields are swapped (`"userPhone": string, // if email type passed`);
read sensibly: `type: sms` needs `userPhone`, `type: email` needs `userEmail`. The other contact
may be present as well.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import UUID4, EmailStr, Field, model_validator

from schemas.base import (
    MAX_ORDER_ITEMS,
    Money,
    NonEmptyStr,
    NonNegativeInt,
    WireModel,
    message,
)


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class NotificationType(StrEnum):
    REQUIRES_PAYMENT = "requires_payment"
    SUCCESS_PAYMENT = "success_payment"
    COMPLETED = "completed"
    # ours (issue 13): the order was cancelled (any path; `reason` says why) or returned
    CANCELLED = "cancelled"
    RETURNED = "returned"


class DeliveryType(StrEnum):
    SELFDELIVERY = "selfdelivery"
    COURIER = "courier"


class _Addressed(WireModel):
    """A message sent over `type` (sms | email) to the matching contact."""

    type: Channel
    user_phone: NonEmptyStr | None = None
    user_email: EmailStr | None = None

    @model_validator(mode="after")
    def _contact_for_channel(self) -> _Addressed:
        if self.type is Channel.SMS and self.user_phone is None:
            raise ValueError("userPhone is required for type sms")
        if self.type is Channel.EMAIL and self.user_email is None:
            raise ValueError("userEmail is required for type email")
        return self


class OrderNotificationItem(WireModel):
    name: NonEmptyStr
    cost: Money
    additional_info: str | None = None


class DeliveryAddress(WireModel):
    """KLADR code and / or the full address text (both optional in 003)."""

    kladr_id: NonNegativeInt | None = None
    full_address: str | None = None


@message
class OrderNotification(_Addressed):
    """003 "order notification by sms/email"; `username` (ours) files it under the customer's
    notifications."""

    notification_type: NotificationType
    order_num: NonEmptyStr
    order_items: Annotated[
        tuple[OrderNotificationItem, ...], Field(min_length=1, max_length=MAX_ORDER_ITEMS)
    ]
    delivery_type: DeliveryType
    delivery_address: DeliveryAddress | None = None
    username: NonEmptyStr | None = None
    # ours: why the order was cancelled (with notificationType cancelled / returned)
    reason: str | None = None


@message
class RegistrationNotification(_Addressed):
    """003 "registration notification by sms/email": the greeting with a promo code (uuid4)."""

    promo_id: UUID4
