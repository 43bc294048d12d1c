"""delivery_svc after the hand-over, without I/O: the pickup code, the storage period, the
wrong-code lock and the carrier's tracking events (delivery_svc.parcels)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from delivery_svc import domain, parcels
from delivery_svc.domain import OrderStatusChanged, ReadyAtPoint
from schemas.delivery_http import CaseStatus as C
from schemas.delivery_http import DeliveryKind
from schemas.order import OrderStatus
from schemas.saga import Disposition
from tests.unit.test_delivery_domain import NOW, courier, hold

STORAGE = timedelta(days=3)


def handed_over(kind: DeliveryKind = DeliveryKind.PICKUP) -> domain.Case:
    if kind is DeliveryKind.PICKUP:
        opened = domain.open_case(hold(), NOW)
    else:
        home = hold(kind=kind, choice=courier().to_wire(), address="Москва, ул. Ленина, д. 1")
        opened = domain.open_case(home, NOW)
    moved = parcels.hand_over(opened, NOW, NOW)
    assert moved is not None
    return moved[0]


def test_a_pickup_parcel_sets_off_at_the_hand_over_and_a_courier_one_waits_for_its_booking():
    assert handed_over().status is C.IN_TRANSIT
    courier_case = handed_over(DeliveryKind.COURIER)
    assert courier_case.status is C.OPENED and courier_case.parcel_at == NOW
    assert parcels.hand_over(courier_case, NOW, NOW) is None  # again: nothing


def test_the_arrival_notice_carries_the_code_but_the_case_keeps_only_its_hash():
    case, events = parcels.arrive(handed_over(), NOW, "pickup point", "042917", STORAGE)
    assert case.keep_until == NOW + STORAGE and case.code_hash
    assert "042917" not in repr(case)
    notice = next(e for e in events if isinstance(e, ReadyAtPoint))
    assert notice.code == "042917" and notice.keep_until == (NOW + STORAGE).date()
    assert parcels.arrive(case, NOW, "pickup point", "111111", STORAGE) == (case, [])


def test_the_right_code_completes_the_order_and_a_wrong_one_is_a_conflict():
    case, _ = parcels.arrive(handed_over(), NOW, "pickup point", "042917", STORAGE)
    with pytest.raises(parcels.WrongCode):
        parcels.collect(case, "042918", NOW, "pickup point")
    received, events = parcels.collect(case, " 042917 ", NOW, "pickup point")
    assert received.status is C.RECEIVED
    assert events == [OrderStatusChanged(OrderStatus.COMPLETED)]


def test_a_parcel_past_its_storage_period_goes_back_restocked():
    case, _ = parcels.arrive(handed_over(), NOW, "pickup point", "042917", STORAGE)
    assert parcels.not_collected(case, NOW + STORAGE - timedelta(seconds=1)) is None
    ended = parcels.not_collected(case, NOW + STORAGE + timedelta(seconds=1))
    assert ended is not None and ended[0].status is C.RETURNED
    assert ended[1] == [
        OrderStatusChanged(OrderStatus.CANCELLED, "not collected in time", Disposition.RESTOCK)
    ]


def test_five_tries_lock_the_code_for_the_lock_period_after_the_last_one():
    lock = timedelta(minutes=15)
    assert parcels.locked_for(4, NOW, NOW, 5, lock) == 0
    assert parcels.locked_for(5, NOW, NOW + timedelta(minutes=5), 5, lock) == 600
    assert parcels.locked_for(5, NOW, NOW + lock, 5, lock) == 0


def test_carrier_events_move_a_courier_case_and_late_or_repeated_ones_are_ignored():
    case = handed_over(DeliveryKind.COURIER)
    case, _ = parcels.track(case, "ACCEPTED", None, NOW)
    with pytest.raises(parcels.Ignored):
        parcels.track(case, "IN_TRANSIT", None, NOW)
    case, events = parcels.track(case, "OUT_FOR_DELIVERY", 1, NOW)
    assert OrderStatusChanged(OrderStatus.DELIVERING) in events
    case, events = parcels.track(case, "FAILED_ATTEMPT", 1, NOW)
    assert case.failed_attempts == 1 and events == []
    with pytest.raises(parcels.Ignored):
        parcels.track(case, "FAILED_ATTEMPT", 1, NOW)
    returned, events = parcels.track(case, "RETURNED", None, NOW)
    assert events == [
        OrderStatusChanged(OrderStatus.CANCELLED, "delivery failed", Disposition.RESTOCK)
    ]
    with pytest.raises(parcels.Ignored, match="ended"):
        parcels.track(returned, "DELIVERED", None, NOW)


def test_a_lost_parcel_is_written_off_even_when_its_first_event_never_came():
    lost, events = parcels.track(handed_over(DeliveryKind.COURIER), "LOST", None, NOW)
    assert [h["status"] for h in lost.history][-2:] == ["IN_TRANSIT", "LOST"]
    assert events == [
        OrderStatusChanged(OrderStatus.CANCELLED, "parcel lost", Disposition.WRITE_OFF)
    ]


def test_a_reverse_leaves_every_ended_case_alone():
    for status in (C.RECEIVED, C.RETURNED, C.LOST, C.CANCELLED):
        assert domain.reverse(replace(handed_over(), status=status), NOW) is None
    cancelled = domain.reverse(handed_over(), NOW)
    assert cancelled is not None and cancelled.status is C.CANCELLED
