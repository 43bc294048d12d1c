"""The carriers' simulator (`python -m delivery_svc.carrier_sim`) as its own process, driven by
delivery_svc's client (delivery_svc.carriers) as delivery_svc drives it: quotes with expiry,
idempotent bookings, tracking events POSTed signed to a small real webhook receiver in order and
at least once, failed attempts, lost parcels, injected 503s and slow answers, cancellation, the
config behind the shop's token, and a restart that resumes the shipments."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from delivery_svc.adapters import HttpCouriers, UnknownCompany, offer_of
from delivery_svc.carriers import (
    BadSignature,
    CarrierClient,
    CarrierEvent,
    CarrierRefused,
    CarrierStatus,
    QuoteExpired,
    sign_event,
    verify_event,
)
from delivery_svc.domain import Tariff, price
from delivery_svc.settings import DeliverySettings
from launcher.embedded import free_port
from launcher.processes import ServiceProcess
from servicekit.errors import InvalidRequest
from tests.support.kafka import eventually

TOKEN = "test-carrier-token"
SECRET = "test-carrier-webhook-secret"
ADDRESS = "Москва, ул. Ленина, д. 1"
PACE = 0.2
BASELINE = {
    "paceSeconds": PACE,
    "failedAttemptShare": 0.0,
    "maxAttempts": 3,
    "lostShare": 0.0,
    "lostAfterSeconds": 1.0,
    "errorRate": 0.0,
    "errorNext": 0,
    "slowShare": 0.0,
    "slowSeconds": 1.2,
    "quoteTtlSeconds": 900.0,
}
DELIVERED_PATH = [
    CarrierStatus.ACCEPTED,
    CarrierStatus.IN_TRANSIT,
    CarrierStatus.OUT_FOR_DELIVERY,
    CarrierStatus.DELIVERED,
]


@dataclass
class Receiver:
    """delivery_svc's webhook, reduced to recording what arrives (and refusing on demand)."""

    url: str = ""
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    refuse_next: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((body, dict(request.headers)))
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return web.json_response({"errorMessage": "not now"}, status=500)
        return web.json_response({"ok": True})

    def arrivals(self, shipment_id: str) -> list[CarrierEvent]:
        """Every delivery of the shipment's events (repeats included), in arrival order,
        each verified as delivery_svc verifies it."""
        events = [verify_event(SECRET, body, headers) for body, headers in self.received]
        return [e for e in events if e.shipment_id == shipment_id]


@dataclass
class Sim:
    proc: ServiceProcess
    client: CarrierClient
    receiver: Receiver
    http: aiohttp.ClientSession

    async def configure(self, **changes: Any) -> dict[str, Any]:
        async with self.http.put(f"{self.proc.url}/config", json=changes, headers=auth()) as resp:
            assert resp.status == 200, await resp.text()
            answer: dict[str, Any] = await resp.json()
            return answer

    async def stats(self) -> dict[str, int]:
        async with self.http.get(f"{self.proc.url}/stats", headers=auth()) as resp:
            answer: dict[str, int] = await resp.json()
            return answer

    async def book_new(self, company: str = "cdek") -> tuple[str, str]:
        """(order id, shipment id) of a freshly quoted and booked order."""
        order_id = f"order-{uuid.uuid4().hex[:12]}"
        quote = await self.client.quote(company, ADDRESS)
        shipment = await self.client.book(order_id, quote.quote_id, ADDRESS)
        return order_id, shipment.shipment_id

    async def final(self, shipment_id: str, timeout: float = 30.0) -> list[CarrierEvent]:
        """The shipment's events once it has ended and the webhook has taken every one."""

        async def ended() -> list[CarrierEvent] | None:
            seen = await self.client.track(shipment_id)
            got = {e.event_id for e in self.receiver.arrivals(shipment_id)}
            done = seen.status in (CarrierStatus.DELIVERED, CarrierStatus.RETURNED)
            if done and all(e.event_id in got for e in seen.events):
                return list(seen.events)
            return None

        result: list[CarrierEvent] = await eventually(ended, timeout=timeout)
        return result


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def assert_in_order_at_least_once(arrivals: list[CarrierEvent], events: list[CarrierEvent]) -> None:
    """Every event arrived, and never one before an earlier one of its shipment had arrived."""
    position = {e.event_id: i for i, e in enumerate(events)}
    indexes = [position[e.event_id] for e in arrivals]
    assert set(indexes) == set(range(len(events)))
    assert indexes == sorted(indexes), indexes


@pytest.fixture(scope="module")
async def sim() -> AsyncIterator[Sim]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/carrier/events", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    receiver.url = f"http://127.0.0.1:{port}"
    state = Path(tempfile.mkdtemp())
    proc = ServiceProcess(
        "carrier_sim",
        "delivery_svc.carrier_sim",
        free_port(),
        {
            "SAGASHOP_CARRIER_TOKEN": TOKEN,
            "SAGASHOP_CARRIER_WEBHOOK_SECRET": SECRET,
            "SAGASHOP_DELIVERY_URL": receiver.url,
            "SAGASHOP_CARRIER_STATE": str(state / "carrier.jsonl"),
            "SAGASHOP_CARRIER_PACE_SECONDS": str(PACE),
            "SAGASHOP_CARRIER_FAILED_ATTEMPT_SHARE": "0",
            "SAGASHOP_CARRIER_LOST_SHARE": "0",
            "SAGASHOP_LOG_JSON": "false",
        },
        state / "carrier_sim.log",
    )
    proc.start()
    # 16 tries: with 30 % 503s and 30 % answers slower than the 1 s bound, a call fails one try
    # in two, and 10 tries let one of the eight calls fail about once in a hundred runs (a CI run
    # saw it)
    client = CarrierClient(
        proc.url, TOKEN, SECRET, timeout_seconds=1.0, attempts=16, retry_seconds=60.0
    )
    http = aiohttp.ClientSession()
    try:
        await proc.wait_ready()
        yield Sim(proc, client, receiver, http)
    finally:
        await http.close()
        await client.close()
        proc.kill()
        await runner.cleanup()


@pytest.fixture(autouse=True)
async def baseline(sim: Sim) -> AsyncIterator[None]:
    await sim.configure(**BASELINE)
    sim.receiver.refuse_next = 0
    yield
    sim.receiver.refuse_next = 0


async def test_a_quote_is_the_companys_tariff_for_the_address_with_an_expiry(sim: Sim) -> None:
    quote = await sim.client.quote("boxberry", ADDRESS)
    assert quote.company == "boxberry"
    assert quote.price == price(Tariff(24_900, 400), ADDRESS)
    assert quote.currency == "RUB"
    assert 800 < quote.expires_at.timestamp() - time.time() <= 900
    with pytest.raises(CarrierRefused, match="unknown company"):
        await sim.client.quote("pony-express", ADDRESS)


async def test_delivery_svcs_http_adapter_prices_from_the_carrier_with_its_quote(
    sim: Sim,
) -> None:
    settings = DeliverySettings(
        carrier_url=sim.proc.url, carrier_token=TOKEN, carrier_webhook_secret=SECRET
    )
    couriers = HttpCouriers(settings)
    try:
        assert [c.id for c in couriers.companies()] == ["cdek", "boxberry", "dpd", "yandex"]
        offer = await offer_of(couriers, "dpd", ADDRESS)
        assert offer.cost == price(Tariff(34_900, 200), ADDRESS)
        assert offer.carrier_quote_id and offer.carrier_expires_at
        assert await couriers.quote("dpd", ADDRESS) == offer.cost
        # the carrier's quote books (the adapter's price is a real carrier quote)
        shipment = await sim.client.book(
            f"order-{uuid.uuid4().hex[:12]}", offer.carrier_quote_id, ADDRESS
        )
        assert (await sim.client.track(shipment.shipment_id)).price == offer.cost
        with pytest.raises(UnknownCompany):
            await couriers.quote("pony-express", ADDRESS)
    finally:
        await couriers.close()


async def test_a_booked_parcel_sends_signed_events_in_order_until_delivered(sim: Sim) -> None:
    order_id, shipment_id = await sim.book_new()
    events = await sim.final(shipment_id)
    assert [e.status for e in events] == DELIVERED_PATH
    assert all(e.order_id == order_id for e in events)
    assert events[2].attempt == 1
    assert_in_order_at_least_once(sim.receiver.arrivals(shipment_id), events)
    assert (await sim.client.track(shipment_id)).status is CarrierStatus.DELIVERED


async def test_events_the_webhook_refuses_are_sent_again_and_stay_in_order(sim: Sim) -> None:
    sim.receiver.refuse_next = 4
    _, shipment_id = await sim.book_new("dpd")
    events = await sim.final(shipment_id)
    assert [e.status for e in events] == DELIVERED_PATH
    arrivals = sim.receiver.arrivals(shipment_id)
    assert len(arrivals) > len(events)  # some were delivered more than once
    assert_in_order_at_least_once(arrivals, events)
    assert (await sim.stats())["webhookFailures"] >= 4


async def test_a_tampered_or_stale_event_fails_verification(sim: Sim) -> None:
    _, shipment_id = await sim.book_new()
    await sim.final(shipment_id)
    body, headers = next(
        (b, h) for b, h in sim.receiver.received if json.loads(b)["shipmentId"] == shipment_id
    )
    assert sim.client.verify_event(body, headers).shipment_id == shipment_id
    tampered = body.replace(b'"ACCEPTED"', b'"DELIVERED"')
    assert tampered != body
    with pytest.raises(BadSignature):
        sim.client.verify_event(tampered, headers)
    with pytest.raises(BadSignature):
        verify_event("another-secret", body, headers)
    with pytest.raises(BadSignature):
        sim.client.verify_event(body, {})
    stale = sign_event(SECRET, body, at=int(time.time()) - 3600)
    with pytest.raises(BadSignature):
        sim.client.verify_event(body, stale)
    not_an_event = b'{"hello": "world"}'
    with pytest.raises(InvalidRequest):
        sim.client.verify_event(not_an_event, sign_event(SECRET, not_an_event))


async def test_an_expired_quote_is_refused_and_a_fresh_one_books(sim: Sim) -> None:
    await sim.configure(quoteTtlSeconds=0.3)
    quote = await sim.client.quote("yandex", ADDRESS)

    async def expired() -> bool:
        return time.time() > quote.expires_at.timestamp() + 0.2

    await eventually(expired)
    order_id = f"order-{uuid.uuid4().hex[:12]}"
    with pytest.raises(QuoteExpired, match="quote expired"):
        await sim.client.book(order_id, quote.quote_id, ADDRESS)
    await sim.configure(quoteTtlSeconds=900)
    shipment = await sim.client.book(order_id, quote.quote_id, ADDRESS, company="yandex")
    seen = await sim.client.track(shipment.shipment_id)
    assert (seen.order_id, seen.company) == (order_id, "yandex")


async def test_booking_the_same_order_twice_gives_one_shipment(sim: Sim) -> None:
    order_id = f"order-{uuid.uuid4().hex[:12]}"
    quote = await sim.client.quote("cdek", ADDRESS)
    bookings = await asyncio.gather(
        *(sim.client.book(order_id, quote.quote_id, ADDRESS) for _ in range(3))
    )
    again = await sim.client.book(order_id, quote.quote_id, ADDRESS)
    assert {b.shipment_id for b in [*bookings, again]} == {again.shipment_id}
    assert len({b.tracking_number for b in [*bookings, again]}) == 1


async def test_the_client_survives_injected_503s_and_slow_answers(sim: Sim) -> None:
    before = await sim.stats()
    await sim.configure(errorNext=3)
    quote = await sim.client.quote("cdek", ADDRESS)  # three 503s, then the answer
    assert (await sim.stats())["errors"] == before["errors"] + 3
    # a slow answer is given after the work is done: the client has timed out and asks again
    await sim.configure(errorRate=0.3, slowShare=0.3, slowSeconds=1.2)
    order_ids = [f"order-{uuid.uuid4().hex[:12]}" for _ in range(4)]
    shipments = []
    for order_id in order_ids:
        quote = await sim.client.quote("boxberry", ADDRESS)
        shipments.append(await sim.client.book(order_id, quote.quote_id, ADDRESS))
    after = await sim.stats()
    assert after["errors"] > before["errors"] + 3 or after["slow"] > before["slow"]
    await sim.configure(errorRate=0.0, slowShare=0.0)
    for order_id, shipment in zip(order_ids, shipments, strict=True):
        seen = await sim.client.track(shipment.shipment_id)
        assert seen.order_id == order_id
        quote = await sim.client.quote("boxberry", ADDRESS)
        again = await sim.client.book(order_id, quote.quote_id, ADDRESS)
        assert again.shipment_id == shipment.shipment_id


async def test_every_attempt_failing_ends_returned(sim: Sim) -> None:
    await sim.configure(failedAttemptShare=1.0, maxAttempts=3)
    _, shipment_id = await sim.book_new()
    events = await sim.final(shipment_id)
    out, failed = CarrierStatus.OUT_FOR_DELIVERY, CarrierStatus.FAILED_ATTEMPT
    assert [(e.status, e.attempt) for e in events] == [
        (CarrierStatus.ACCEPTED, None),
        (CarrierStatus.IN_TRANSIT, None),
        (out, 1),
        (failed, 1),
        (out, 2),
        (failed, 2),
        (out, 3),
        (failed, 3),
        (CarrierStatus.RETURNED, None),
    ]
    assert_in_order_at_least_once(sim.receiver.arrivals(shipment_id), events)


async def test_a_lost_parcel_stops_sending_and_reads_lost(sim: Sim) -> None:
    await sim.configure(lostShare=1.0, lostAfterSeconds=1.0)
    _, shipment_id = await sim.book_new()

    async def lost() -> bool:
        return (await sim.client.track(shipment_id)).status is CarrierStatus.LOST

    await eventually(lost, timeout=30)
    seen = await sim.client.track(shipment_id)
    assert [e.status for e in seen.events] == DELIVERED_PATH[:2]
    with pytest.raises(CarrierRefused, match="LOST"):
        await sim.client.cancel(shipment_id)


async def test_a_shipment_cancelled_before_delivery_sends_nothing_more(sim: Sim) -> None:
    await sim.configure(paceSeconds=2.0)
    _, shipment_id = await sim.book_new()
    cancelled = await sim.client.cancel(shipment_id)
    assert cancelled.status is CarrierStatus.CANCELLED
    assert (await sim.client.cancel(shipment_id)).status is CarrierStatus.CANCELLED
    await sim.configure(paceSeconds=PACE)
    _, other = await sim.book_new()
    await sim.final(other)  # the schedule has moved on meanwhile
    seen = await sim.client.track(shipment_id)
    assert (seen.status, seen.events) == (CarrierStatus.CANCELLED, ())
    assert sim.receiver.arrivals(shipment_id) == []
    with pytest.raises(CarrierRefused, match="DELIVERED"):
        await sim.client.cancel(other)


async def test_calls_without_the_shops_token_are_401_and_config_is_bounded(sim: Sim) -> None:
    url = sim.proc.url
    async with sim.http.put(f"{url}/config", json={"errorRate": 1.0}) as resp:
        assert resp.status == 401
        assert "errorMessage" in await resp.json()
    bad = {"Authorization": "Bearer not-the-token"}
    async with sim.http.put(f"{url}/config", json={"errorRate": 1.0}, headers=bad) as resp:
        assert resp.status == 401
    async with sim.http.post(f"{url}/quotes", json={"company": "cdek", "address": "x"}) as resp:
        assert resp.status == 401
    async with sim.http.get(f"{url}/health") as resp:
        assert resp.status == 200
    for wrong in ({"errorRate": 1.5}, {"paceSeconds": 0}, {"maxAttempts": 11}, {"nope": 1}):
        async with sim.http.put(f"{url}/config", json=wrong, headers=auth()) as resp:
            assert resp.status == 400, wrong
            assert "errorMessage" in await resp.json()
    async with sim.http.get(f"{url}/config", headers=auth()) as resp:
        assert (await resp.json())["errorRate"] == 0.0


async def test_a_booking_without_idempotency_key_is_400(sim: Sim) -> None:
    quote = await sim.client.quote("cdek", ADDRESS)
    body = {"quoteId": quote.quote_id, "orderId": "o-1", "address": ADDRESS}
    async with sim.http.post(f"{sim.proc.url}/shipments", json=body, headers=auth()) as resp:
        assert resp.status == 400
        assert "Idempotency-Key" in (await resp.json())["errorMessage"]


async def test_a_restarted_simulator_resumes_its_shipments(sim: Sim) -> None:
    await sim.configure(paceSeconds=1.0)
    order_id, shipment_id = await sim.book_new()
    quote = await sim.client.quote("cdek", ADDRESS)  # given before the crash, booked after

    async def accepted() -> bool:
        return any(e.status is CarrierStatus.ACCEPTED for e in sim.receiver.arrivals(shipment_id))

    await eventually(accepted, timeout=20)
    sim.proc.kill()
    sim.proc.start()
    await sim.proc.wait_ready()
    events = await sim.final(shipment_id)
    assert [e.status for e in events] == DELIVERED_PATH
    assert_in_order_at_least_once(sim.receiver.arrivals(shipment_id), events)
    again = await sim.client.book(order_id, quote.quote_id, ADDRESS)
    assert again.shipment_id == shipment_id
    other = await sim.client.book(f"order-{uuid.uuid4().hex[:12]}", quote.quote_id, ADDRESS)
    assert other.shipment_id != shipment_id
