"""billing bounded context: gift-card data for the donee (001 §4, billing -> notification)."""

from __future__ import annotations

from pydantic import EmailStr

from schemas.base import NonEmptyStr, WireModel, message


@message
class GiftCardDelivery(WireModel):
    """The purchased gift card's number (its activation code) to e-mail to the donee.

    001's purchase form (scenario 7) asks only for the donee's name, so `doneeLastName` may be
    left out although the stream lists it.
    """

    gift_card_number: NonEmptyStr
    donee_first_name: NonEmptyStr
    donee_last_name: NonEmptyStr | None = None
    donee_email: EmailStr
