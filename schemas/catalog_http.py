"""HTTP bodies of store_svc's edge: catalog (product list, search, card), stock, reservations
and picking cases (SPEC §6 store paths; 000 `stocks`; 004 ProductCatalogApi and
ReserverProductApi, whose `reservationId` is the order id here: one reservation per order).

Prices are integer kopecks. `price` on a card is what the customer pays now (after the
discount); `discount` tells the price before and after when a discount is set.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from schemas.base import (
    DEFAULT_CURRENCY,
    MAX_ORDER_ITEMS,
    Currency,
    Money,
    NonEmptyStr,
    NonNegativeInt,
    PositiveQty,
    Timestamp,
    UpperEnum,
    WireModel,
)

ProductId = Annotated[int, Field(ge=1)]
Percent = Annotated[int, Field(ge=0, le=99)]
SortKey = Literal["name", "-name", "price", "-price"]
"""`name` / `price` ascending, `-name` / `-price` descending; `price` is the price to pay."""


# --- catalog ------------------------------------------------------------------------------------


class ProductQuery(WireModel):
    """Query string of `GET /products`: `q` (words matched as prefixes of the words of the name
    and description, case-insensitive), `page` (from 0), `pageSize`, `sort`."""

    model_config = ConfigDict(extra="ignore")

    q: str | None = Field(default=None, max_length=200)
    page: int = Field(default=0, ge=0, le=1_000_000)
    page_size: int = Field(default=20, ge=1, le=100)
    sort: SortKey = "name"


class Measurements(WireModel):
    weight: NonNegativeInt
    height: NonNegativeInt
    width: NonNegativeInt
    length: NonNegativeInt


class Discount(WireModel):
    percent: Percent
    price_before: Money
    price_after: Money


class WarehouseAvailability(WireModel):
    warehouse_id: NonEmptyStr
    available: NonNegativeInt


class ProductCard(WireModel):
    """001 card: name, price, image, discount, availability per warehouse (and in total)."""

    id: ProductId
    name: NonEmptyStr
    description: str | None = None
    price: Money
    currency: Currency = DEFAULT_CURRENCY
    image_url: str
    discount: Discount | None = None
    availability: tuple[WarehouseAvailability, ...] = ()
    available: NonNegativeInt = 0
    measurements: Measurements | None = None
    version: NonNegativeInt


class ProductPage(WireModel):
    items: tuple[ProductCard, ...]
    page: NonNegativeInt
    page_size: PositiveQty
    total: NonNegativeInt


class DiscountRequest(WireModel):
    """Admin `PUT /products/{id}/discount`: 0 removes the discount."""

    percent: Percent


# --- stock --------------------------------------------------------------------------------------


class StockCount(WireModel):
    """000 `stocks`: units of a sku that can be bought (reserved units cannot)."""

    count: NonNegativeInt


class StockSetRequest(WireModel):
    """Admin `PUT /stock/{sku}/{warehouse}`: units on hand (reserved ones included); refused
    with 409 when below the units reserved there."""

    on_hand: NonNegativeInt


class StockLine(WireModel):
    product_id: ProductId
    warehouse_id: NonEmptyStr
    on_hand: NonNegativeInt
    reserved: NonNegativeInt
    booked: NonNegativeInt
    available: NonNegativeInt
    # handed over to delivery, and left the stock for good (damaged or lost)
    shipped: NonNegativeInt = 0
    written_off: NonNegativeInt = 0
    # every unit the line ever received: onHand + booked + shipped + writtenOff, always
    received: NonNegativeInt | None = None


class StockLines(WireModel):
    product_id: ProductId
    lines: tuple[StockLine, ...]


# --- reservations -------------------------------------------------------------------------------


class ReservationStatus(StrEnum):
    RESERVED = "RESERVED"  # pre-reserved at checkout, until `expiresAt`
    BOOKED = "BOOKED"  # confirmed by the saga: the units left on-hand for picking
    RELEASED = "RELEASED"  # released on request (order cancelled or checkout abandoned)
    EXPIRED = "EXPIRED"  # released by the sweeper after `expiresAt`
    FAILED = "FAILED"  # the saga's CONFIRM found no stock
    REVERSED = "REVERSED"  # the saga's REVERSE: released / un-booked, or a tombstone


class ReservationItem(WireModel):
    product_id: ProductId
    quantity: PositiveQty


class ReservationRequest(WireModel):
    """`POST /reservations` (004): all positions or none; idempotent per `orderId`."""

    order_id: NonEmptyStr = Field(max_length=100)
    items: tuple[ReservationItem, ...] = Field(min_length=1, max_length=MAX_ORDER_ITEMS)


class WarehouseQuantity(WireModel):
    warehouse_id: NonEmptyStr
    quantity: PositiveQty


class ReservedItem(WireModel):
    product_id: ProductId
    reserved_quantity: PositiveQty
    warehouses: tuple[WarehouseQuantity, ...]


class ReservationView(WireModel):
    reservation_id: NonEmptyStr
    order_id: NonEmptyStr
    status: ReservationStatus
    items: tuple[ReservedItem, ...]
    created_at: Timestamp
    expires_at: Timestamp | None = None
    reason: str | None = None


# --- picking ------------------------------------------------------------------------------------


class PickingStatus(UpperEnum):
    """A picking case moves CREATED -> PICKING -> PICKED -> HANDED_OVER; DAMAGED (an item was
    found damaged while picking or once picked) and CANCELLED (the saga's REVERSE while the
    warehouse had the order) end it. A REVERSE after HANDED_OVER or DAMAGED keeps the status."""

    CREATED = "CREATED"  # opened by the saga's CONFIRM, nobody has started
    PICKING = "PICKING"  # the warehouse is picking it (the order is ASSEMBLING)
    PICKED = "PICKED"  # packed, waiting for the courier or the pickup point's van
    HANDED_OVER = "HANDED_OVER"  # the parcel left the warehouse: delivery has it
    DAMAGED = "DAMAGED"  # an item was damaged: the order is cancelled, the item written off
    CANCELLED = "CANCELLED"  # the order was undone (REVERSE)


class PickingMove(WireModel):
    """One entry of a case's history: who moved it where, when (and why)."""

    status: PickingStatus
    at: Timestamp
    by: NonEmptyStr
    reason: str | None = None
    product_id: ProductId | None = None
    quantity: PositiveQty | None = None


class DamagedItem(WireModel):
    product_id: ProductId
    product_name: NonEmptyStr
    quantity: PositiveQty
    warehouses: tuple[WarehouseQuantity, ...]


class PickingCase(WireModel):
    """The warehouse's case to pick a booked order (opened on the saga's CONFIRM).
    `warehouseId` is the main warehouse: the one most of the units come from."""

    order_id: NonEmptyStr
    status: PickingStatus
    items: tuple[ReservedItem, ...]
    opened_at: Timestamp
    closed_at: Timestamp | None = None
    warehouse_id: str | None = None
    updated_at: Timestamp | None = None
    damaged: DamagedItem | None = None
    history: tuple[PickingMove, ...] = ()


class PickingCaseList(WireModel):
    cases: tuple[PickingCase, ...]


class PickingQuery(WireModel):
    """`GET /picking?status=&warehouse=&limit=`: `status` may list several, comma-separated."""

    model_config = ConfigDict(extra="ignore")

    status: str | None = Field(default=None, max_length=200)
    warehouse: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=100, ge=1, le=500)


StaffMove = Literal[
    PickingStatus.PICKING, PickingStatus.PICKED, PickingStatus.HANDED_OVER, PickingStatus.DAMAGED
]


class PickingStatusUpdate(WireModel):
    """`PUT /picking/{orderId}/status` (warehouse staff): move the case on. `damaged` names
    the product found damaged (`productId`, `quantity` default 1) and may say why."""

    status: StaffMove
    product_id: ProductId | None = None
    quantity: PositiveQty | None = Field(default=None, le=1_000_000)
    reason: str | None = Field(default=None, max_length=500)
