"""delivery_svc's rules without I/O: courier prices and quotes, and the delivery case's state
machine (slots and holds are in slots.py; the pickup code and the storage period in parcels.py).

Case:   opened -(parcel handed over)-> in_transit -> at_pickup_point (pickup) |
        out_for_delivery (courier) -> received
        at_pickup_point -> returned (not collected in time); in_transit | out_for_delivery ->
        returned (the carrier brought it back) | lost (the carrier lost it)
        opened | in_transit | at_pickup_point | out_for_delivery -> cancelled (saga REVERSE)
A case cannot leave `opened` before store_svc has handed the parcel over (`parcel_at`).
The order hears about it on the status feed (SPEC §5): at_pickup_point -> READY_FOR_PICKUP,
out_for_delivery -> DELIVERING, received -> COMPLETED, returned and lost -> CANCELLED (with the
goods' disposition: a returned parcel is restocked, a lost one written off). `in_transit` moves
the order nowhere: §5 has no "in transit" status, ASSEMBLING belongs to the store's picking
case, and the next status the customer can act on is READY_FOR_PICKUP or DELIVERING. `opened`
is told by the saga outcome (CONFIRMED), `cancelled` by the saga's compensation (CANCELLED).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from delivery_svc.slots import MOSCOW, Hold, Slot, Window
from schemas.delivery_http import CaseStatus, DeliveryKind
from schemas.order import OrderStatus
from schemas.saga import CourierChoice, Disposition
from servicekit.errors import Conflict, NotFound, Unprocessable

REVERSED_FIRST = "reversed before confirmed"
NOT_COLLECTED = "not collected in time"
DELIVERY_FAILED = "delivery failed"
PARCEL_LOST = "parcel lost"


# -- quotes ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tariff:
    """A simulated courier company's price list in kopecks: a base fee plus a fee per
    character of the normalised address. The address length stands in for distance; it is
    deterministic, so the same address always gets the same price. A real adapter asks the
    company instead."""

    base: int
    per_char: int


def normalize_address(address: str) -> str:
    return " ".join(address.split()).casefold()


def price(tariff: Tariff, address: str) -> int:
    """base + per_char x len(normalised address), rounded up to whole roubles."""
    raw = tariff.base + tariff.per_char * len(normalize_address(address))
    return math.ceil(raw / 100) * 100


@dataclass(frozen=True)
class Quote:
    quote_id: str
    username: str
    address: str
    courier_company: str
    cost: int
    expires_at: datetime
    # the carrier's own quote behind the price (courier_adapter "http"), kept for booking
    carrier_quote_id: str | None = None
    carrier_expires_at: datetime | None = None


class QuoteNotFound(NotFound):
    """No such quote was given to this customer."""


class QuoteExpired(Conflict):
    """The quote was given, and its time is up."""


class QuoteMismatch(Unprocessable):
    """The choice names a quote given for another company, address or cost."""


def check_quote(
    quote: Quote | None, choice: CourierChoice, username: str, now: datetime, fresh: bool = True
) -> None:
    """The courier choice must carry a quote the customer was given, for the same company,
    address and cost, and (at checkout, `fresh`) not yet expired."""
    if quote is None or quote.username != username:
        raise QuoteNotFound(f"Quote not found: {choice.quote_id}: ask for a new quote")
    if fresh and quote.expires_at <= now:
        raise QuoteExpired(f"quote {choice.quote_id} has expired: ask for a new quote")
    if quote.courier_company != choice.courier_company:
        raise QuoteMismatch(
            f"quote {choice.quote_id} is for courier company {quote.courier_company}, "
            f"not {choice.courier_company}"
        )
    if normalize_address(quote.address) != normalize_address(choice.address):
        raise QuoteMismatch(f"quote {choice.quote_id} was given for another address")
    if quote.cost != choice.cost:
        raise QuoteMismatch(
            f"delivery cost {choice.cost} does not match the quoted cost {quote.cost}"
        )


# -- cases -------------------------------------------------------------------------------------
C = CaseStatus
NEXT: dict[CaseStatus, frozenset[CaseStatus]] = {
    C.OPENED: frozenset({C.IN_TRANSIT, C.CANCELLED}),
    C.IN_TRANSIT: frozenset(
        {C.AT_PICKUP_POINT, C.OUT_FOR_DELIVERY, C.RECEIVED, C.RETURNED, C.LOST, C.CANCELLED}
    ),
    C.AT_PICKUP_POINT: frozenset({C.RECEIVED, C.RETURNED, C.CANCELLED}),
    C.OUT_FOR_DELIVERY: frozenset({C.RECEIVED, C.RETURNED, C.LOST, C.CANCELLED}),
    C.RECEIVED: frozenset(),
    C.RETURNED: frozenset(),
    C.LOST: frozenset(),
    C.CANCELLED: frozenset(),
}
ENDED = frozenset(s for s, nexts in NEXT.items() if not nexts)
ONLY_FOR = {
    C.AT_PICKUP_POINT: DeliveryKind.PICKUP,
    C.OUT_FOR_DELIVERY: DeliveryKind.COURIER,
}
ORDER_STATUS = {
    C.AT_PICKUP_POINT: OrderStatus.READY_FOR_PICKUP,
    C.OUT_FOR_DELIVERY: OrderStatus.DELIVERING,
    C.RECEIVED: OrderStatus.COMPLETED,
    C.RETURNED: OrderStatus.CANCELLED,
    C.LOST: OrderStatus.CANCELLED,
}
DISPOSITION = {C.RETURNED: Disposition.RESTOCK, C.LOST: Disposition.WRITE_OFF}


class IllegalTransition(Conflict):
    def __init__(self, current: CaseStatus, wanted: CaseStatus, kind: DeliveryKind | None) -> None:
        what = f" of a {kind} delivery" if kind and ONLY_FOR.get(wanted, kind) is not kind else ""
        super().__init__(
            f"not possible to change the delivery case status{what} from {current} to {wanted}"
        )


class NotHandedOver(Conflict):
    def __init__(self, order_id: str) -> None:
        super().__init__(
            f"the parcel of order {order_id} has not been handed over by the warehouse yet: "
            "the delivery cannot start"
        )


@dataclass(frozen=True)
class Case:
    order_id: str
    username: str | None
    status: CaseStatus
    kind: DeliveryKind | None = None  # None: a REVERSE came before any CONFIRM (tombstone)
    slot: Slot | None = None
    address: str | None = None
    point_id: int | None = None
    courier_company: str | None = None
    cost: int = 0
    reason: str | None = None
    history: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    version: int = 0
    parcel_at: datetime | None = None  # store_svc handed the parcel over
    keep_until: datetime | None = None  # at a pickup point: sent back after this
    code_hash: str | None = None  # the pickup code's hash (the code itself is never kept)
    shipment_id: str | None = None  # the carrier's booking
    failed_attempts: int = 0  # the courier found nobody at home

    def moved(self, status: CaseStatus, now: datetime, by: str, reason: str | None = None) -> Case:
        entry = {"status": status.value, "at": now, "by": by}
        if reason:
            entry["reason"] = reason
        return replace(self, status=status, reason=reason, history=(*self.history, entry))


@dataclass(frozen=True)
class OrderStatusChanged:
    status: OrderStatus
    reason: str | None = None
    disposition: Disposition | None = None


@dataclass(frozen=True)
class ReadyAtPoint:
    point_id: int
    address: str
    avail_date: date
    code: str | None = None
    keep_until: date | None = None


@dataclass(frozen=True)
class CourierComing:
    address: str
    day: date
    window: Window


Event = OrderStatusChanged | ReadyAtPoint | CourierComing


def open_case(hold: Hold, now: datetime, by: str = "saga") -> Case:
    choice = hold.choice
    case = Case(
        order_id=hold.order_id,
        username=hold.username,
        status=CaseStatus.OPENED,
        kind=hold.kind,
        slot=hold.slot,
        address=hold.address,
        point_id=choice.get("pointId"),
        courier_company=choice.get("courierCompany"),
        cost=hold.cost,
    )
    return replace(case, history=({"status": CaseStatus.OPENED.value, "at": now, "by": by},))


def tombstone(order_id: str, username: str | None, now: datetime) -> Case:
    """A REVERSE for an order never confirmed here: remembered, so a later CONFIRM fails."""
    return Case(order_id, username, CaseStatus.OPENED).moved(
        CaseStatus.CANCELLED, now, "saga", REVERSED_FIRST
    )


def confirm_again(case: Case) -> str | None:
    """A CONFIRM for an order that has a case: None (SUCCESS, no second case) unless the case
    was cancelled, then the reason to FAIL."""
    if case.status is CaseStatus.CANCELLED:
        return case.reason or "the delivery case was cancelled"
    return None


def check_transition(case: Case, wanted: CaseStatus) -> None:
    allowed = wanted in NEXT[case.status] and ONLY_FOR.get(wanted, case.kind) is case.kind
    if not allowed:
        raise IllegalTransition(case.status, wanted, case.kind)
    if case.status is C.OPENED and wanted is not C.CANCELLED and case.parcel_at is None:
        raise NotHandedOver(case.order_id)


def reverse(case: Case, now: datetime, reason: str = "reversed") -> Case | None:
    """The saga's REVERSE: a case not yet received is cancelled (its parcel, wherever it is,
    comes back); an ended one has nothing to take back here (None: a delivered order's return
    is physical, a returned or lost parcel is already accounted for)."""
    if case.status in ENDED:
        return None
    return case.moved(C.CANCELLED, now, "saga", reason)


def advance(
    case: Case, wanted: CaseStatus, now: datetime, by: str, reason: str | None = None
) -> tuple[Case, list[Event]]:
    """Move the case on (an admin, the pickup point or the carrier); the same status again
    changes nothing and tells nobody twice."""
    if wanted is case.status:
        return case, []
    check_transition(case, wanted)
    moved = case.moved(wanted, now, by, reason)
    return moved, events_of(moved, now)


def events_of(case: Case, now: datetime) -> list[Event]:
    events: list[Event] = []
    if case.status in ORDER_STATUS:
        disposition = DISPOSITION.get(case.status)
        events.append(OrderStatusChanged(ORDER_STATUS[case.status], case.reason, disposition))
    if case.status is CaseStatus.AT_PICKUP_POINT:
        if case.point_id is None or case.address is None:
            raise ValueError(f"pickup case {case.order_id} has no pickup point")
        keep = case.keep_until.astimezone(MOSCOW).date() if case.keep_until else None
        day = now.astimezone(MOSCOW).date()
        events.append(ReadyAtPoint(case.point_id, case.address, day, keep_until=keep))
    if case.status is CaseStatus.OUT_FOR_DELIVERY:
        if case.slot is None or case.address is None:
            raise ValueError(f"courier case {case.order_id} has no slot")
        events.append(CourierComing(case.address, case.slot.day, case.slot.window))
    return events
