"""Delivery slots and the holds on them, without I/O: which windows a resource (a courier
company or a pickup point) offers, in the order a hold tries them, and what a hold request does
to the order's hold so far.

Windows are Moscow wall-clock times (UTC+3; Russia has had no DST since 2014), so a window and
its date mean the same to the customer, the courier and the pickup point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any

from schemas.delivery_http import DeliveryKind, HoldStatus
from schemas.saga import DeliveryChoice, PickupChoice
from servicekit.errors import Conflict

MOSCOW = timezone(timedelta(hours=3), "MSK")


@dataclass(frozen=True, order=True)
class Window:
    begin: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Window:
        """'10:00-14:00' -> Window(10:00, 14:00)."""
        try:
            begin, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError as exc:
            raise ValueError(f"delivery window {text!r}: expected HH:MM-HH:MM") from exc
        if end <= begin:
            raise ValueError(f"delivery window {text!r}: the end must be after the begin")
        return cls(begin, end)

    def __str__(self) -> str:
        return f"{self.begin:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Slot:
    """One delivery window on one day of one resource (a courier company or a pickup point)."""

    resource: str
    day: date
    window: Window

    @property
    def slot_id(self) -> str:
        return f"{self.resource}/{self.day.isoformat()}/{self.window}"


def resource_of(choice: DeliveryChoice) -> str:
    if isinstance(choice, PickupChoice):
        return f"pickup-{choice.point_id}"
    return f"courier-{choice.courier_company}"


def upcoming_slots(
    resource: str, now: datetime, windows: list[Window], horizon: timedelta, lead: timedelta
) -> list[Slot]:
    """Every window of `resource` that begins at least `lead` from now and before `horizon`
    from now, earliest first: the order in which a hold looks for a free place."""
    start, end = now + lead, now + horizon
    day, last = start.astimezone(MOSCOW).date(), end.astimezone(MOSCOW).date()
    slots = []
    while day <= last:
        for window in sorted(windows):
            if start <= datetime.combine(day, window.begin, MOSCOW) < end:
                slots.append(Slot(resource, day, window))
        day += timedelta(days=1)
    return slots


# -- holds -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hold:
    """A slot pre-reserved for an order, with what the customer chose."""

    order_id: str
    username: str
    kind: DeliveryKind
    choice: dict[str, Any]  # the delivery choice as it came on the wire
    address: str  # the pickup point's address, or the home address
    cost: int
    slot: Slot
    status: HoldStatus
    expires_at: datetime
    version: int = 0


class Plan(StrEnum):
    KEEP = "keep"  # answer the hold there is (the same request again)
    REPLACE = "replace"  # give the held place back, then hold anew
    NEW = "new"  # hold a place


def plan_hold(existing: Hold | None, username: str, choice: dict[str, Any], now: datetime) -> Plan:
    """What a hold request for an order does, given the order's hold so far."""
    if existing is None:
        return Plan.NEW
    if existing.username != username:
        raise Conflict("a delivery slot for this order is held by another customer")
    same = existing.choice == choice
    if existing.status is HoldStatus.USED:
        if same:
            return Plan.KEEP
        raise Conflict("the delivery of this order is already confirmed and cannot be changed")
    if existing.status is HoldStatus.HELD:
        return Plan.KEEP if same and existing.expires_at > now else Plan.REPLACE
    return Plan.NEW


class NoFreeSlot(Conflict):
    def __init__(self, horizon: timedelta) -> None:
        days = max(1, round(horizon / timedelta(days=1)))
        super().__init__(f"no free delivery slot in the next {days} day(s): choose another way")
