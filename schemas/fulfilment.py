"""After the saga: picking, hand-over to delivery, holds kept for paid orders, and cancellations
and returns of confirmed orders (SPEC §5, issue 13).

Flow (every arrow is a topic, written through the sender's outbox):
- order_svc -> store_svc, delivery_svc: `HoldExtension` when an order is paid, so that its stock
  pre-reservation and delivery slot hold outlive the wait for the saga.
- store_svc -> order_svc: `OrderStatusUpdate` (schemas.order) on the status feed: ASSEMBLING when
  picking starts, CANCELLED with `disposition=WRITE_OFF` when an item is damaged.
- store_svc -> delivery_svc: `ParcelHandedOver` once picking has handed the parcel over; delivery
  starts only then.
- delivery_svc -> order_svc: the status feed: DELIVERING, READY_FOR_PICKUP, COMPLETED, or
  CANCELLED (returned: RESTOCK; lost: WRITE_OFF).
- order_svc -> orchestra: `OrderCancellation` for every cancellation or return of an order that
  has been handed to orchestra (customer, admin, neighbour feed, a paid order stuck before its
  saga); orchestra compensates (REVERSE to every participant, carrying the disposition) and
  answers with `OrderOutcome` FAIL, which moves the order to CANCELLED (or RETURNED).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from schemas.base import NonEmptyStr, NonNegativeInt, PositiveQty, Timestamp, WireModel, message
from schemas.saga import Disposition, OrderConfirmationRequest

__all__ = [
    "CancellationKind",
    "Disposition",
    "HoldExtension",
    "OrderCancellation",
    "ParcelHandedOver",
    "ParcelItem",
]


class CancellationKind(StrEnum):
    CANCEL = "CANCEL"  # the order ends CANCELLED
    RETURN = "RETURN"  # a delivered order was returned (admin-accepted): it ends RETURNED


@message
class OrderCancellation(OrderConfirmationRequest):
    """order_svc -> orchestra: undo an order that was handed over (its saga may be running,
    confirmed, or never have started). The order's own fields are repeated so that orchestra can
    send REVERSE even when it has no saga for the order. `version` is the order's version when
    the cancellation was asked; orchestra's outcome carries it back."""

    reason: NonEmptyStr
    by: NonEmptyStr
    kind: CancellationKind = CancellationKind.CANCEL
    disposition: Disposition = Disposition.RESTOCK


@message
class HoldExtension(WireModel):
    """order_svc -> store_svc, delivery_svc: the order is paid; keep its stock pre-reservation
    and delivery slot hold at least until `until` (never shortened by this)."""

    order_id: NonEmptyStr
    until: Timestamp


class ParcelItem(WireModel):
    product_id: NonNegativeInt
    warehouse_id: NonEmptyStr
    quantity: PositiveQty


@message
class ParcelHandedOver(WireModel):
    """store_svc -> delivery_svc: the order's parcel left the warehouse (picking HANDED_OVER)."""

    order_id: NonEmptyStr
    warehouse_id: NonEmptyStr
    items: tuple[ParcelItem, ...] = Field(min_length=1)
    timestamp: Timestamp
