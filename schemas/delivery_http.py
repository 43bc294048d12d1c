"""HTTP bodies of delivery_svc's edge (ours: SPEC §6 "delivery: pickup points, courier companies,
quote, slot pre-reservation, case status"): `GET /pickup-points`, `GET /couriers`,
`POST /quotes`, `POST|GET|DELETE /slots`, `GET /cases/{orderId}`, admin
`PUT /cases/{orderId}/status`.

Costs are integer kopecks like every amount in sagashop. Delivery windows are Moscow wall-clock
times: `deliveryDate` and `timeSlot` mean what the customer reads on the courier's schedule.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from schemas.base import (
    DEFAULT_CURRENCY,
    Currency,
    Money,
    NonEmptyStr,
    NonNegativeInt,
    Timestamp,
    UpperEnum,
    WireModel,
)
from schemas.delivery import TimeSlot
from schemas.saga import DeliveryChoice

Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
OrderId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class DeliveryKind(StrEnum):
    PICKUP = "pickup"
    COURIER = "courier"


class HoldStatus(UpperEnum):
    """A slot hold: `HELD` (pre-reserved until `expiresAt`), `USED` (a delivery case was opened
    on it), `RELEASED` (the customer or a REVERSE let it go), `EXPIRED` (nobody confirmed it)."""

    HELD = "HELD"
    USED = "USED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"


class CaseStatus(UpperEnum):
    """OPENED -> (parcel handed over) IN_TRANSIT -> AT_PICKUP_POINT | OUT_FOR_DELIVERY ->
    RECEIVED; or `RETURNED` (not collected in time, or the carrier brought it back), `LOST`
    (the carrier lost it), `CANCELLED` (the saga's REVERSE)."""

    OPENED = "OPENED"
    IN_TRANSIT = "IN_TRANSIT"
    AT_PICKUP_POINT = "AT_PICKUP_POINT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    RECEIVED = "RECEIVED"
    RETURNED = "RETURNED"
    LOST = "LOST"
    CANCELLED = "CANCELLED"


DRIVABLE = (
    CaseStatus.IN_TRANSIT,
    CaseStatus.AT_PICKUP_POINT,
    CaseStatus.OUT_FOR_DELIVERY,
    CaseStatus.RECEIVED,
)
"""The statuses an admin may move a case to; `opened` and `cancelled` belong to the saga,
`returned` and `lost` to the pickup point's storage period and the carrier."""


class PickupPointView(WireModel):
    id: NonNegativeInt
    name: str
    address: str
    working_hours: str


class PickupPointList(WireModel):
    items: tuple[PickupPointView, ...]


class CourierView(WireModel):
    id: str
    name: str


class CourierList(WireModel):
    items: tuple[CourierView, ...]


class QuoteRequest(WireModel):
    """Ask a courier company what bringing the order to `address` costs."""

    model_config = ConfigDict(extra="ignore")

    address: Address
    courier_company: NonEmptyStr


class QuoteView(WireModel):
    """A price the customer may accept until `expiresAt` (checkout sends `quoteId` and `cost`)."""

    quote_id: str
    cost: Money
    currency: Currency = DEFAULT_CURRENCY
    expires_at: Timestamp
    address: str
    courier_company: str


class SlotRequest(WireModel):
    """Pre-reserve a delivery slot for the order (order_svc sends it at checkout)."""

    model_config = ConfigDict(extra="ignore")

    order_id: OrderId
    delivery: DeliveryChoice


class SlotHoldView(WireModel):
    order_id: str
    slot_id: str
    kind: DeliveryKind
    delivery_date: date
    time_slot: TimeSlot
    expires_at: Timestamp
    cost: Money
    status: HoldStatus


class CaseStatusRequest(WireModel):
    """Admin: move the delivery case on (`in_transit`, `at_pickup_point`, `out_for_delivery`,
    `received`)."""

    model_config = ConfigDict(extra="ignore")

    status: CaseStatus

    @field_validator("status")
    @classmethod
    def _drivable(cls, value: CaseStatus) -> CaseStatus:
        if value not in DRIVABLE:
            raise ValueError(f"must be one of {', '.join(DRIVABLE)}")
        return value


class CaseHistoryEntry(WireModel):
    status: CaseStatus
    at: Timestamp
    by: str
    reason: str | None = None


class CaseView(WireModel):
    """A delivery case. A case REVERSEd before it was ever confirmed has no kind and no slot."""

    order_id: str
    username: str | None = None
    kind: DeliveryKind | None = None
    status: CaseStatus
    delivery_date: date | None = None
    time_slot: TimeSlot | None = None
    address: str | None = None
    point_id: int | None = None
    courier_company: str | None = None
    cost: Money = 0
    reason: str | None = None
    # ours (issue 13): when store_svc handed the parcel over (delivery starts only then), the
    # moment a parcel at a pickup point is sent back, the carrier's shipment
    handed_over_at: Timestamp | None = None
    keep_until: Timestamp | None = None
    shipment_id: str | None = None
    failed_attempts: NonNegativeInt = 0
    history: tuple[CaseHistoryEntry, ...] = Field(default_factory=tuple)


class CarrierEventTaken(WireModel):
    """delivery_svc's answer to a carrier's tracking event: the case's new `status`, or why
    the event changed nothing (`ignored`)."""

    order_id: str
    status: CaseStatus | None = None
    ignored: str | None = None


class ParcelArrival(WireModel):
    """The pickup point: the order's parcel has arrived (`POST /pickup-points/{id}/arrivals`)."""

    model_config = ConfigDict(extra="ignore")

    order_id: OrderId


class PickupRequest(WireModel):
    """The pickup point (or an admin): the customer shows `code` for the order
    (`POST /pickups`)."""

    model_config = ConfigDict(extra="ignore")

    order_id: OrderId
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
