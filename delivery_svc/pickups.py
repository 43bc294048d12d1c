"""The pickup points' side of the edge and its loops. The point reports a parcel's arrival
(`POST /pickup-points/{pointId}/arrivals`, the pickup credential: `Authorization: Bearer
<SAGASHOP_PICKUP_TOKEN>`), and the customer's code (`POST /pickups`, the pickup credential or
an admin's session); a loop tells the point about parcels on their way to it (`POST
{SAGASHOP_PICKUP_URL}/parcels`, idempotent by order id at the point), another sends back the
parcels nobody collected within the storage period."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from aiohttp import web

from delivery_svc import parcels
from delivery_svc.cases import case_view, emit
from delivery_svc.domain import Case
from delivery_svc.queues import Queues
from delivery_svc.reservations import SlotDesk
from schemas.delivery_http import CaseStatus, CaseView, ParcelArrival, PickupRequest
from servicekit.errors import NotFound, ServiceUnavailable, TooManyRequests, Unauthorized
from servicekit.http import INT_PARAM, int_param, read_body, reply
from servicekit.identity import admin
from servicekit.neighbours import Neighbour
from servicekit.service import Service
from servicekit.sweeps import nudged
from servicekit.tokens import bearer_headers, carries
from servicekit.unit import Tx

log = logging.getLogger(__name__)
POINT = "pickup point"


def mount(service: Service, desk: SlotDesk, queues: Queues) -> None:
    routes, repo, settings = service.routes, desk.repo, desk.settings
    storage = timedelta(seconds=settings.pickup_storage_seconds)
    lock = timedelta(seconds=settings.pickup_code_lock_seconds)

    async def caller(request: web.Request, staff_too: bool) -> str:
        if carries(request, settings.pickup_token):  # an empty token accepts nobody
            return POINT
        if not staff_too:
            raise Unauthorized("this call needs the pickup point's Authorization: Bearer token")
        return (await admin(request, service.auth)).username

    @routes.post(
        "/pickup-points/{pointId}/arrivals",
        body=ParcelArrival,
        response=CaseView,
        auth="pickup-point",
        params={"pointId": {**INT_PARAM, "minimum": 0}},
    )
    async def arrival(request: web.Request) -> web.Response:
        """The pickup point: the order's parcel has arrived. The customer is sent a pickup code
        (only its hash is kept); the parcel is kept until `keepUntil`. Again: the same case."""
        await caller(request, staff_too=False)
        point_id = int_param(request, "pointId", minimum=0)
        req = await read_body(request, ParcelArrival)

        async def arrive(tx: Tx) -> Case:
            case = await repo.case(req.order_id, tx.session)
            if case is None or case.point_id != point_id:
                raise NotFound(
                    f"no parcel of order {req.order_id} is on its way to point {point_id}"
                )
            now = desk.clock()
            moved, events = parcels.arrive(case, now, POINT, parcels.new_code(), storage)
            if moved is case:
                return case
            saved = await repo.save_case(case, moved, now, tx.session)
            emit(tx, saved, events, now)
            return saved

        return reply(case_view(await service.transaction(arrive)))

    @routes.post("/pickups", body=PickupRequest, response=CaseView, auth="pickup-point-or-admin")
    async def pickup(request: web.Request) -> web.Response:
        """The customer collects the parcel with the code from the SMS (the point, or an admin).

        404 for an unknown order, 409 for a wrong code or a parcel not at a point; after
        `pickupCodeAttempts` attempts, 429 with Retry-After."""
        who = await caller(request, staff_too=True)
        req = await read_body(request, PickupRequest)
        await count_try(req.order_id)

        async def collect(tx: Tx) -> Case:
            case = await repo.case(req.order_id, tx.session)
            if case is None:
                raise NotFound(f"no delivery case for order {req.order_id}")
            now = desk.clock()
            moved, events = parcels.collect(case, req.code, now, who)
            saved = await repo.save_case(case, moved, now, tx.session)
            emit(tx, saved, events, now)
            return saved

        return reply(case_view(await service.transaction(collect)))

    async def count_try(order_id: str) -> None:
        """Counted before the code is checked: parallel guesses each take one of the tries."""
        limit = settings.pickup_code_attempts
        for _ in range(5):
            now = desk.clock()
            if await queues.count_try(order_id, limit, now) is not None:
                return
            doc = await queues.cases.find_one({"_id": order_id})
            if doc is None:
                raise NotFound(f"no delivery case for order {order_id}")
            if doc["status"] != CaseStatus.AT_PICKUP_POINT:
                return  # collect() says why it cannot be collected
            wait = parcels.locked_for(doc["codeTries"], doc.get("lastTryAt"), now, limit, lock)
            if wait > 0:
                raise TooManyRequests(
                    f"too many wrong pickup codes for order {order_id}: try again later", wait
                )
            if await queues.restart_tries(doc, now):
                return
        raise ServiceUnavailable("the pickup code could not be checked, try again")

    point_api = Neighbour("pickup points", settings.pickup_url)
    service.shutdown.append(point_api.close)

    async def tell_point(doc: dict[str, object]) -> None:
        answer = await point_api.call(
            "POST",
            "/parcels",
            json={"orderId": doc["_id"], "pointId": doc["pointId"]},
            headers=bearer_headers(settings.pickup_token),
        )
        if answer.ok:
            await queues.point_notified(str(doc["_id"]))
        else:
            log.warning("pickup point refused parcel %s: %s", doc["_id"], answer.error)

    async def send_back(tx: Tx, *, order_id: str) -> None:
        case = await repo.case(order_id, tx.session)
        now = desk.clock()
        ended = parcels.not_collected(case, now) if case else None
        if case is None or ended is None:
            return
        saved = await repo.save_case(case, ended[0], now, tx.session)
        emit(tx, saved, ended[1], now)

    # parcels become due for their point in this service's transactions (they nudge the loop),
    # and for the way back at their keepUntil (read back): servicekit.sweeps
    pace = nudged(service, settings.dispatch_interval_seconds, desk.clock)

    @service.loop
    async def to_points(_: Service) -> None:
        while True:
            for doc in (telling := await queues.to_point()):
                try:
                    await tell_point(doc)
                except ServiceUnavailable as exc:
                    log.warning("parcel %s not sent to its point yet: %s", doc["_id"], exc.message)
            for order_id in (ended := await queues.past_storage(desk.clock())):
                await service.transaction(partial(send_back, order_id=order_id))
            if telling or ended:  # what failed is tried again next round
                await pace.sleep(desk.clock())
            else:
                await pace.sleep(await queues.next_storage_end())
