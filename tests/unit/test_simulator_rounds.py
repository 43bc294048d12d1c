"""The carrier and pickup-point simulators look at their parcels when the next one is due (or
something new comes), not every 0.2 s: an idle shop's simulators sleep."""

from __future__ import annotations

import time
from pathlib import Path

from delivery_svc.carrier_sim import (
    IDLE_SECONDS,
    BookRequest,
    CarrierConfig,
    Carriers,
    QuoteRequest,
    simulated_companies,
)
from delivery_svc.pickup_sim import IDLE_SECONDS as PICKUP_IDLE
from delivery_svc.pickup_sim import TICK_SECONDS, Counters, ParcelIn, SimConfig, SimSettings


def carriers(tmp_path: Path, **config: float) -> Carriers:
    companies = simulated_companies()
    return Carriers(
        tmp_path / "carrier.jsonl",
        "",
        "http://127.0.0.1:9/hook",
        companies,
        CarrierConfig(**config),
    )


def booked(sim: Carriers, order_id: str) -> dict[str, object]:
    company = next(iter(sim.companies))
    quote = sim.quote(QuoteRequest(company=company, address="Тверская, 1"))
    _, shipment = sim.book(
        order_id, BookRequest(quote_id=quote["quoteId"], order_id=order_id, address="Тверская, 1")
    )
    return shipment


def test_a_carrier_with_no_shipment_sleeps_until_a_booking_wakes_it(tmp_path: Path) -> None:
    sim = carriers(tmp_path, pace_seconds=5)
    assert sim.next_tick() == IDLE_SECONDS
    booked(sim, "o-1")
    assert sim.wake.is_set()
    assert 4.5 < sim.next_tick() <= 5.0  # its next move, a pace after the booking


def test_a_carrier_shipment_due_already_is_looked_at_after_the_old_tick(tmp_path: Path) -> None:
    sim = carriers(tmp_path, pace_seconds=5)
    shipment = booked(sim, "o-2")
    shipment["nextAt"] = time.time() - 1
    assert sim.next_tick() == 0.2


def test_a_lost_shipment_is_due_when_it_counts_as_lost(tmp_path: Path) -> None:
    sim = carriers(tmp_path, pace_seconds=5, lost_after_seconds=30)
    shipment = booked(sim, "o-3")
    shipment["lostSince"], shipment["nextAt"] = time.time(), None
    assert 29.5 < sim.next_tick() <= 30.0


def test_pickup_points_with_no_parcel_sleep_until_one_arrives(tmp_path: Path) -> None:
    counters = Counters(SimSettings(outbox_dir=tmp_path / "sent"), SimConfig(transit_seconds=3))
    assert counters.next_round() == PICKUP_IDLE
    counters.receive(ParcelIn(orderId="o-4", pointId=1))
    assert counters.wake.is_set()
    assert 2.5 < counters.next_round() <= 3.0
    counters.parcels["o-4"]["dueAt"] = time.time() - 1  # a call that failed: tried again soon
    assert counters.next_round() == TICK_SECONDS
    counters.parcels["o-4"]["state"] = "collected"
    assert counters.next_round() == PICKUP_IDLE
