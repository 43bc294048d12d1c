"""delivery_svc's rules without I/O: courier prices and quotes, and the delivery case's state
machine (slots and holds are in slots.py).

Case:   opened -> in_transit -> at_pickup_point (pickup) | out_for_delivery (courier) -> received
        opened | in_transit | at_pickup_point | out_for_delivery -> cancelled (saga REVERSE)
The order hears about it on the status feed (SPEC §5): at_pickup_point -> READY_FOR_PICKUP,
out_for_delivery -> DELIVERING, received -> COMPLETED. `in_transit` moves the order nowhere:
§5 has no "in transit" status, ASSEMBLING belongs to the store's picking case, and the next
status the customer can act on is READY_FOR_PICKUP or DELIVERING. `opened` is told by the saga
outcome (CONFIRMED), `cancelled` by the saga's compensation (CANCELLED).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from delivery_svc.slots import MOSCOW, Hold, Slot, Window
from schemas.delivery_http import CaseStatus, DeliveryKind
from schemas.order import OrderStatus
from schemas.saga import CourierChoice
from servicekit.errors import Conflict

REVERSED_FIRST = "reversed before confirmed"


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


class QuoteRefused(Conflict):
    pass


def check_quote(
    quote: Quote | None, choice: CourierChoice, username: str, now: datetime, fresh: bool = True
) -> None:
    """The courier choice must carry a quote the customer was given, for the same company,
    address and cost, and (at checkout, `fresh`) not yet expired."""
    if quote is None or quote.username != username:
        raise QuoteRefused(f"quote {choice.quote_id} not found: ask for a new quote")
    if fresh and quote.expires_at <= now:
        raise QuoteRefused(f"quote {choice.quote_id} has expired: ask for a new quote")
    if quote.courier_company != choice.courier_company:
        raise QuoteRefused(
            f"quote {choice.quote_id} is for courier company {quote.courier_company}, "
            f"not {choice.courier_company}"
        )
    if normalize_address(quote.address) != normalize_address(choice.address):
        raise QuoteRefused(f"quote {choice.quote_id} was given for another address")
    if quote.cost != choice.cost:
        raise QuoteRefused(
            f"delivery cost {choice.cost} does not match the quoted cost {quote.cost}"
        )


# -- cases -------------------------------------------------------------------------------------
NEXT: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.OPENED: frozenset({CaseStatus.IN_TRANSIT, CaseStatus.CANCELLED}),
    CaseStatus.IN_TRANSIT: frozenset(
        {CaseStatus.AT_PICKUP_POINT, CaseStatus.OUT_FOR_DELIVERY, CaseStatus.CANCELLED}
    ),
    CaseStatus.AT_PICKUP_POINT: frozenset({CaseStatus.RECEIVED, CaseStatus.CANCELLED}),
    CaseStatus.OUT_FOR_DELIVERY: frozenset({CaseStatus.RECEIVED, CaseStatus.CANCELLED}),
    CaseStatus.RECEIVED: frozenset(),
    CaseStatus.CANCELLED: frozenset(),
}
ONLY_FOR = {
    CaseStatus.AT_PICKUP_POINT: DeliveryKind.PICKUP,
    CaseStatus.OUT_FOR_DELIVERY: DeliveryKind.COURIER,
}
ORDER_STATUS = {
    CaseStatus.AT_PICKUP_POINT: OrderStatus.READY_FOR_PICKUP,
    CaseStatus.OUT_FOR_DELIVERY: OrderStatus.DELIVERING,
    CaseStatus.RECEIVED: OrderStatus.COMPLETED,
}


class IllegalTransition(Conflict):
    def __init__(self, current: CaseStatus, wanted: CaseStatus, kind: DeliveryKind | None) -> None:
        what = f" of a {kind} delivery" if kind and ONLY_FOR.get(wanted, kind) is not kind else ""
        super().__init__(
            f"not possible to change the delivery case status{what} from {current} to {wanted}"
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

    def moved(self, status: CaseStatus, now: datetime, by: str, reason: str | None = None) -> Case:
        entry = {"status": status.value, "at": now, "by": by}
        if reason:
            entry["reason"] = reason
        return replace(self, status=status, reason=reason, history=(*self.history, entry))


@dataclass(frozen=True)
class OrderStatusChanged:
    status: OrderStatus


@dataclass(frozen=True)
class ReadyAtPoint:
    point_id: int
    address: str
    avail_date: date


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


def cancel(case: Case, now: datetime, reason: str = "reversed") -> Case:
    check_transition(case, CaseStatus.CANCELLED)
    return case.moved(CaseStatus.CANCELLED, now, "saga", reason)


def advance(case: Case, wanted: CaseStatus, now: datetime, by: str) -> tuple[Case, list[Event]]:
    """Move the case on (an admin or the courier's feed); the same status again changes
    nothing and tells nobody twice."""
    if wanted is case.status:
        return case, []
    check_transition(case, wanted)
    moved = case.moved(wanted, now, by)
    return moved, events_of(moved, now)


def events_of(case: Case, now: datetime) -> list[Event]:
    events: list[Event] = []
    if case.status in ORDER_STATUS:
        events.append(OrderStatusChanged(ORDER_STATUS[case.status]))
    if case.status is CaseStatus.AT_PICKUP_POINT:
        if case.point_id is None or case.address is None:
            raise ValueError(f"pickup case {case.order_id} has no pickup point")
        events.append(ReadyAtPoint(case.point_id, case.address, now.astimezone(MOSCOW).date()))
    if case.status is CaseStatus.OUT_FOR_DELIVERY:
        if case.slot is None or case.address is None:
            raise ValueError(f"courier case {case.order_id} has no slot")
        events.append(CourierComing(case.address, case.slot.day, case.slot.window))
    return events
