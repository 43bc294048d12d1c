"""delivery_svc's rules without I/O: prices and quotes, windows and holds, the case machine."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from delivery_svc import domain, slots
from delivery_svc.domain import Case, CourierComing, OrderStatusChanged, Quote, ReadyAtPoint
from delivery_svc.slots import MOSCOW, Hold, Plan, Slot, Window
from schemas.delivery_http import CaseStatus as C
from schemas.delivery_http import DeliveryKind, HoldStatus
from schemas.order import OrderStatus
from schemas.saga import CourierChoice, PickupChoice
from servicekit.errors import Conflict, DomainError

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
TARIFF = domain.Tariff(base=29_000, per_char=300)
WINDOWS = [Window.parse(w) for w in ("18:00-22:00", "10:00-14:00", "14:00-18:00")]
SLOT = Slot("pickup-4", date(2026, 11, 25), Window(time(10), time(14)))


def courier(**overrides: Any) -> CourierChoice:
    fields = {
        "address": "Москва, ул. Ленина, д. 1",
        "courier_company": "cdek",
        "quote_id": "q1",
        "cost": 36_200,
    }
    return CourierChoice(**{**fields, **overrides})


def quote(**overrides: Any) -> Quote:
    fields = {
        "quote_id": "q1",
        "username": "ivan",
        "address": "Москва, ул. Ленина, д. 1",
        "courier_company": "cdek",
        "cost": 36_200,
        "expires_at": NOW + timedelta(minutes=15),
    }
    return Quote(**{**fields, **overrides})


def hold(**overrides: Any) -> Hold:
    fields = {
        "order_id": "o1",
        "username": "ivan",
        "kind": DeliveryKind.PICKUP,
        "choice": PickupChoice(point_id=4).to_wire(),
        "address": "Москва, ул. Профсоюзная, д. 56",
        "cost": 0,
        "slot": SLOT,
        "status": HoldStatus.HELD,
        "expires_at": NOW + timedelta(minutes=10),
    }
    return Hold(**{**fields, **overrides})


# -- prices and quotes -------------------------------------------------------------------------
def test_the_same_address_always_costs_the_same_and_a_longer_one_more():
    near = domain.price(TARIFF, "Москва, ул. Ленина, д. 1")
    assert near == domain.price(TARIFF, "  москва,   УЛ. Ленина, д. 1 ")
    assert domain.price(TARIFF, "Москва, ул. Ленина, д. 1, кв. 150, Зеленоград") > near


def test_a_price_is_base_plus_a_fee_per_character_rounded_up_to_whole_roubles():
    assert domain.price(domain.Tariff(base=100, per_char=7), "abc") == 200  # 121 kopecks
    assert domain.price(domain.Tariff(base=29_000, per_char=300), "x" * 24) == 36_200


def test_a_quote_that_matches_the_choice_is_accepted():
    domain.check_quote(quote(), courier(), "ivan", NOW)
    domain.check_quote(quote(address="москва,  ул. Ленина, д. 1"), courier(), "ivan", NOW)


@pytest.mark.parametrize(
    ("given", "choice", "username", "status", "says"),
    [
        (None, courier(), "ivan", 404, "Quote not found"),
        (quote(), courier(), "petr", 404, "Quote not found"),
        (quote(expires_at=NOW), courier(), "ivan", 409, "has expired"),
        (quote(), courier(courier_company="dpd"), "ivan", 422, "for courier company cdek, not dpd"),
        (quote(), courier(address="Москва, ул. Арбат, д. 2"), "ivan", 422, "another address"),
        (quote(), courier(cost=100), "ivan", 422, "does not match the quoted cost 36200"),
    ],
)
def test_a_quote_unknown_is_404_expired_409_and_not_matching_the_choice_422(
    given: Quote | None, choice: CourierChoice, username: str, status: int, says: str
):
    with pytest.raises(DomainError, match=says) as refused:
        domain.check_quote(given, choice, username, NOW)
    assert refused.value.status == status


def test_an_expired_quote_still_counts_for_a_confirmation_of_a_paid_order():
    domain.check_quote(quote(expires_at=NOW - timedelta(hours=1)), courier(), "ivan", NOW, False)


# -- windows and slots -------------------------------------------------------------------------
def test_windows_are_moscow_times_tried_earliest_first_after_the_lead():
    found = slots.upcoming_slots("courier-cdek", NOW, WINDOWS, timedelta(days=2), timedelta(0))
    ids = [s.slot_id for s in found]
    assert ids[:3] == [
        "courier-cdek/2026-11-24/14:00-18:00",  # 10:00 today has begun already
        "courier-cdek/2026-11-24/18:00-22:00",
        "courier-cdek/2026-11-25/10:00-14:00",
    ]
    assert len(ids) == 6
    later = slots.upcoming_slots("r", NOW, WINDOWS, timedelta(days=2), timedelta(hours=3))
    assert later[0].window == Window(time(18), time(22))


def test_a_week_ahead_offers_every_window_of_seven_days():
    week = slots.upcoming_slots("r", NOW, WINDOWS, timedelta(days=7), timedelta(hours=2))
    assert len(week) == 21 and len({s.slot_id for s in week}) == 21
    assert all(NOW + timedelta(hours=2) <= _begins(s) < NOW + timedelta(days=7) for s in week)


def _begins(slot: Slot) -> datetime:
    return datetime.combine(slot.day, slot.window.begin, MOSCOW)


@pytest.mark.parametrize("text", ["10:00-14:00-18:00", "14:00-10:00", "10:00", "ten-two"])
def test_a_malformed_window_is_rejected(text: str):
    with pytest.raises(ValueError, match="delivery window"):
        Window.parse(text)


def test_pickup_points_and_courier_companies_are_separate_resources():
    assert slots.resource_of(PickupChoice(point_id=3)) == "pickup-3"
    assert slots.resource_of(courier()) == "courier-cdek"


def test_no_free_slot_says_how_far_ahead_was_looked():
    assert "in the next 7 day(s)" in slots.NoFreeSlot(timedelta(days=7)).message


# -- holds -------------------------------------------------------------------------------------
def test_the_same_request_again_keeps_the_hold():
    assert slots.plan_hold(hold(), "ivan", PickupChoice(point_id=4).to_wire(), NOW) is Plan.KEEP


def test_another_choice_or_an_expired_hold_is_replaced():
    other = PickupChoice(point_id=5).to_wire()
    assert slots.plan_hold(hold(), "ivan", other, NOW) is Plan.REPLACE
    late = NOW + timedelta(hours=1)
    assert slots.plan_hold(hold(), "ivan", hold().choice, late) is Plan.REPLACE


def test_a_released_or_expired_hold_is_held_anew_and_no_hold_is_new():
    for status in (HoldStatus.RELEASED, HoldStatus.EXPIRED):
        assert slots.plan_hold(hold(status=status), "ivan", hold().choice, NOW) is Plan.NEW
    assert slots.plan_hold(None, "ivan", hold().choice, NOW) is Plan.NEW


def test_a_confirmed_delivery_cannot_be_changed_and_nobody_else_holds_for_the_order():
    used = hold(status=HoldStatus.USED)
    assert slots.plan_hold(used, "ivan", used.choice, NOW) is Plan.KEEP
    with pytest.raises(Conflict, match="already confirmed"):
        slots.plan_hold(used, "ivan", PickupChoice(point_id=5).to_wire(), NOW)
    with pytest.raises(Conflict, match="another customer"):
        slots.plan_hold(hold(), "petr", hold().choice, NOW)


# -- cases -------------------------------------------------------------------------------------
def opened(kind: DeliveryKind = DeliveryKind.PICKUP) -> Case:
    """An opened case whose parcel the warehouse has handed over (delivery may start)."""
    if kind is DeliveryKind.PICKUP:
        return replace(domain.open_case(hold(), NOW), parcel_at=NOW)
    home = hold(kind=kind, choice=courier().to_wire(), address="Москва, ул. Ленина, д. 1")
    return replace(domain.open_case(home, NOW), parcel_at=NOW)


def drive(case: Case, *statuses: C) -> tuple[Case, list[domain.Event]]:
    events: list[domain.Event] = []
    for status in statuses:
        case, more = domain.advance(case, status, NOW, by="admin")
        events += more
    return case, events


def test_a_pickup_case_reaches_the_point_then_the_customer_and_the_order_hears_each_step():
    case, events = drive(opened(), C.IN_TRANSIT, C.AT_PICKUP_POINT, C.RECEIVED)
    assert case.status is C.RECEIVED
    assert [h["status"] for h in case.history] == [
        "OPENED",
        "IN_TRANSIT",
        "AT_PICKUP_POINT",
        "RECEIVED",
    ]
    assert events == [
        OrderStatusChanged(OrderStatus.READY_FOR_PICKUP),
        ReadyAtPoint(4, "Москва, ул. Профсоюзная, д. 56", date(2026, 11, 24)),
        OrderStatusChanged(OrderStatus.COMPLETED),
    ]


def test_a_courier_setting_out_announces_the_day_and_window_of_the_slot():
    _, events = drive(opened(DeliveryKind.COURIER), C.IN_TRANSIT, C.OUT_FOR_DELIVERY)
    assert events == [
        OrderStatusChanged(OrderStatus.DELIVERING),
        CourierComing("Москва, ул. Ленина, д. 1", SLOT.day, SLOT.window),
    ]


def test_the_pickup_day_is_the_moscow_date_of_arrival():
    late_evening = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)  # 01:30 on the 25th in Moscow
    case, _ = drive(opened(), C.IN_TRANSIT)
    _, events = domain.advance(case, C.AT_PICKUP_POINT, late_evening, by="admin")
    assert ReadyAtPoint(4, "Москва, ул. Профсоюзная, д. 56", date(2026, 11, 25)) in events


@pytest.mark.parametrize(
    ("kind", "path", "says"),
    [
        (DeliveryKind.PICKUP, (C.AT_PICKUP_POINT,), "from OPENED to AT_PICKUP_POINT"),
        (DeliveryKind.PICKUP, (C.IN_TRANSIT, C.OUT_FOR_DELIVERY), "of a pickup delivery from"),
        (DeliveryKind.COURIER, (C.IN_TRANSIT, C.AT_PICKUP_POINT), "from IN_TRANSIT to AT_PICK"),
        (DeliveryKind.PICKUP, (C.IN_TRANSIT, C.AT_PICKUP_POINT, C.RECEIVED, C.IN_TRANSIT), "from"),
    ],
)
def test_a_move_the_case_does_not_allow_is_a_conflict_naming_both_states(
    kind: DeliveryKind, path: tuple[C, ...], says: str
):
    with pytest.raises(domain.IllegalTransition, match=says):
        drive(opened(kind), *path)


def test_the_same_status_again_changes_nothing_and_tells_nobody():
    case, _ = drive(opened(), C.IN_TRANSIT)
    again, events = domain.advance(case, C.IN_TRANSIT, NOW, by="admin")
    assert again is case and events == []


def test_in_transit_tells_the_order_nothing():
    _, events = drive(opened(), C.IN_TRANSIT)
    assert events == []


def test_a_reverse_cancels_an_open_case_and_leaves_a_received_one_alone():
    cancelled = domain.reverse(opened(), NOW)
    assert cancelled is not None and cancelled.status is C.CANCELLED
    assert domain.confirm_again(cancelled) is not None
    received, _ = drive(opened(), C.IN_TRANSIT, C.AT_PICKUP_POINT, C.RECEIVED)
    assert domain.reverse(received, NOW) is None


def test_a_case_cannot_leave_opened_before_the_parcel_is_handed_over():
    with pytest.raises(domain.NotHandedOver, match="not been handed over"):
        domain.advance(domain.open_case(hold(), NOW), C.IN_TRANSIT, NOW, by="admin")


def test_a_confirm_after_a_tombstone_fails_and_after_an_open_case_succeeds_again():
    assert domain.confirm_again(domain.tombstone("o1", "ivan", NOW)) == "reversed before confirmed"
    assert domain.confirm_again(opened()) is None
