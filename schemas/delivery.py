"""delivery bounded context: delivery notices to the customer (001 §4, delivery -> notification).

001's delivery stream also lists `requestType`, `tokenType`, `maskedTokenId`, `response` and
`errorMsg`, copy-pasted from the payment stream (even the `timestamp` is described as "time of the
payment attempt"). They mean nothing for a delivery notice and are left out; `timestamp` is kept
as the time of the notice.
"""

from __future__ import annotations

from datetime import date, time

from pydantic import model_validator

from schemas.base import NonEmptyStr, NonNegativeInt, Timestamp, WireModel, message


class PickupPointDelivery(WireModel):
    """The order can be collected at pickup point `pointId` (an int in 001) from `availDate`."""

    point_id: NonNegativeInt
    address: NonEmptyStr
    avail_date: date
    # ours (issue 13): the code the customer shows at the point, and the last day it is kept
    pickup_code: NonEmptyStr | None = None
    keep_until: date | None = None


class TimeSlot(WireModel):
    """A home-delivery window on one day; `endTime` is after `beginTime`."""

    begin_time: time
    end_time: time

    @model_validator(mode="after")
    def _end_after_begin(self) -> TimeSlot:
        if self.end_time <= self.begin_time:
            raise ValueError("endTime must be after beginTime")
        return self


class HomeDelivery(WireModel):
    """The order will be brought to `homeAddress` on `deliveryDate` within `timeSlot`."""

    home_address: NonEmptyStr
    delivery_date: date
    time_slot: TimeSlot


@message
class DeliveryNotification(WireModel):
    """delivery -> notification: exactly one of `pickupPointDelivery` and `homeDelivery`."""

    order_id: NonEmptyStr
    username: NonEmptyStr
    pickup_point_delivery: PickupPointDelivery | None = None
    home_delivery: HomeDelivery | None = None
    timestamp: Timestamp

    @model_validator(mode="after")
    def _exactly_one_way(self) -> DeliveryNotification:
        if (self.pickup_point_delivery is None) == (self.home_delivery is None):
            raise ValueError("exactly one of pickupPointDelivery and homeDelivery must be set")
        return self
