"""Courier parcels with the carriers (delivery_svc.carriers is the client of their API).

- A loop books every handed-over courier parcel (`book` is idempotent by order id, so a crash
  between the booking and its record books nothing twice), cancels the shipment of a case the
  saga cancelled, and looks up a parcel the carrier has said nothing about for
  `tracking_timeout_seconds` (a lost parcel is only found that way).
- `POST /carrier/events`: the carrier's tracking events, HMAC-signed with
  SAGASHOP_CARRIER_WEBHOOK_SECRET. A bad or missing signature: 401. An event for a parcel we do
  not know (no courier case for the order, or another shipment): 404, logged. An event that
  changes nothing (repeated, or out of order such as DELIVERED after RETURNED): 200 with
  `ignored` saying why, logged, so the carrier stops sending it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

from aiohttp import web

from delivery_svc import parcels
from delivery_svc.carriers import WEBHOOK_PATH, CarrierClient, CarrierRefused, CarrierStatus
from delivery_svc.cases import emit
from delivery_svc.queues import Queues
from delivery_svc.reservations import SlotDesk
from schemas.delivery_http import CarrierEventTaken, DeliveryKind
from servicekit.errors import DomainError, NotFound
from servicekit.http import reply
from servicekit.service import Service
from servicekit.sweeps import nudged
from servicekit.unit import Tx

log = logging.getLogger(__name__)


def mount(service: Service, desk: SlotDesk, queues: Queues, client: CarrierClient) -> None:
    repo, settings = desk.repo, desk.settings
    quiet = timedelta(seconds=settings.tracking_timeout_seconds)
    service.shutdown.append(client.close)

    async def apply(
        order_id: str, shipment_id: str, status: str, attempt: int | None
    ) -> CarrierEventTaken:
        async def move(tx: Tx) -> CarrierEventTaken:
            case = await repo.case(order_id, tx.session)
            if (
                case is None
                or case.kind is not DeliveryKind.COURIER
                or (case.shipment_id not in (None, shipment_id))
            ):
                log.warning("carrier event %s for unknown parcel %s refused", status, shipment_id)
                raise NotFound(f"no parcel {shipment_id} of order {order_id} is known here")
            now = desk.clock()
            try:
                moved, events = parcels.track(case, status, attempt, now)
            except parcels.Ignored as why:
                log.info("carrier event %s for %s ignored: %s", status, order_id, why)
                if case.shipment_id is None:  # booked, then a crash: so it can be cancelled
                    known = replace(case, shipment_id=shipment_id)
                    await repo.save_case(case, known, now, tx.session)
                return CarrierEventTaken(order_id=order_id, ignored=str(why))
            moved = replace(moved, shipment_id=shipment_id)
            saved = await repo.save_case(case, moved, now, tx.session)
            emit(tx, saved, events, now)
            return CarrierEventTaken(order_id=order_id, status=saved.status)

        taken: CarrierEventTaken = await service.transaction(move)
        return taken

    @service.routes.post(WEBHOOK_PATH, response=CarrierEventTaken, auth="carrier-signature")
    async def carrier_event(request: web.Request) -> web.Response:
        """The carrier's tracking event (signed); see the module's docstring for the answers."""
        event = client.verify_event(await request.read(), request.headers)
        return reply(await apply(event.order_id, event.shipment_id, event.status, event.attempt))

    async def carrier_quote(order_id: str) -> str | None:
        """The carrier's own quote behind the price the customer accepted, if we have one (an
        expired one is replaced by a fresh quote when booking: our price stays)."""
        hold = await repo.hold(order_id)
        quote_id = hold.choice.get("quoteId") if hold else None
        quote = await repo.quote(quote_id) if quote_id else None
        return quote.carrier_quote_id if quote else None

    async def book(doc: dict[str, Any]) -> None:
        shipment = await client.book(
            doc["_id"],
            await carrier_quote(doc["_id"]),
            doc["address"],
            company=doc["courierCompany"],
        )
        await queues.booked(doc["_id"], shipment.shipment_id, desk.clock())

    async def cancel(doc: dict[str, Any]) -> None:
        try:
            await client.cancel(doc["shipmentId"])
        except CarrierRefused as exc:
            log.warning("shipment %s not cancelled at the carrier: %s", doc["shipmentId"], exc)
        await queues.carrier_cancelled(doc["_id"])

    async def look_up(doc: dict[str, Any]) -> None:
        view = await client.track(doc["shipmentId"])
        if view.status in (CarrierStatus.LOST, CarrierStatus.DELIVERED, CarrierStatus.RETURNED):
            await apply(doc["_id"], doc["shipmentId"], view.status.value, None)
        await queues.touch(doc["_id"], desk.clock())

    async def each(what: str, docs: list[dict[str, Any]], act: Any) -> None:
        for doc in docs:
            try:
                await act(doc)
            except DomainError as exc:
                log.warning("%s of %s failed, tried again later: %s", what, doc["_id"], exc)

    # cases become due for booking or cancelling in this service's transactions (they nudge
    # the loop), and for tracking once quiet for `quiet` (read back): servicekit.sweeps
    pace = nudged(service, settings.dispatch_interval_seconds, desk.clock)

    @service.loop
    async def carriers(_: Service) -> None:
        while True:
            await each("booking", booking := await queues.to_book(), book)
            await each("cancelling", cancelling := await queues.to_cancel_at_carrier(), cancel)
            tracking = await queues.quiet_shipments(desk.clock() - quiet)
            await each("tracking", tracking, look_up)
            if booking or cancelling or tracking:  # what failed is tried again next round
                await pace.sleep(desk.clock())
            else:
                last = await queues.next_quiet()
                await pace.sleep(last + quiet if last else None)
