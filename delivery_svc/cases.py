"""The delivery case on the edge: its owner (or an admin) reads it; an admin drives it on. Each
move tells the customer (a delivery notice when the order reaches the pickup point or the
courier sets out) and order_svc (the status feed), through the outbox of the same
transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web

from delivery_svc import domain, parcels
from delivery_svc.domain import Case, Event
from delivery_svc.reservations import SlotDesk
from schemas import topics
from schemas.delivery import DeliveryNotification, HomeDelivery, PickupPointDelivery, TimeSlot
from schemas.delivery_http import CaseHistoryEntry, CaseStatus, CaseStatusRequest, CaseView
from schemas.order import OrderStatusUpdate
from servicekit.errors import NotFound
from servicekit.http import read_body, reply
from servicekit.identity import admin, customer
from servicekit.service import Service
from servicekit.unit import Tx

SOURCE = "delivery"


def case_view(case: Case) -> CaseView:
    slot = case.slot
    return CaseView(
        order_id=case.order_id,
        username=case.username,
        kind=case.kind,
        status=case.status,
        delivery_date=slot.day if slot else None,
        time_slot=TimeSlot(begin_time=slot.window.begin, end_time=slot.window.end)
        if slot
        else None,
        address=case.address,
        point_id=case.point_id,
        courier_company=case.courier_company,
        cost=case.cost,
        reason=case.reason,
        handed_over_at=case.parcel_at,
        keep_until=case.keep_until,
        shipment_id=case.shipment_id,
        failed_attempts=case.failed_attempts,
        history=tuple(CaseHistoryEntry.model_validate(h) for h in case.history),
    )


def emit(tx: Tx, case: Case, events: list[Event], now: datetime) -> None:
    for event in events:
        if isinstance(event, domain.OrderStatusChanged):
            update = OrderStatusUpdate(
                order_id=case.order_id,
                status=event.status,
                reason=event.reason,
                source=SOURCE,
                timestamp=now,
                disposition=event.disposition,
            )
            tx.emit(topics.ORDER_STATUS_FEED, update, key=case.order_id)
        else:
            tx.emit(topics.DELIVERY_NOTIFICATIONS, notice(case, event, now), key=case.order_id)


def notice(
    case: Case, event: domain.ReadyAtPoint | domain.CourierComing, now: datetime
) -> DeliveryNotification:
    assert case.username is not None  # noqa: S101 - a case that moves was opened from a customer's hold
    if isinstance(event, domain.ReadyAtPoint):
        at_point = PickupPointDelivery(
            point_id=event.point_id,
            address=event.address,
            avail_date=event.avail_date,
            pickup_code=event.code,
            keep_until=event.keep_until,
        )
        return DeliveryNotification(
            order_id=case.order_id,
            username=case.username,
            pickup_point_delivery=at_point,
            timestamp=now,
        )
    window = TimeSlot(begin_time=event.window.begin, end_time=event.window.end)
    home = HomeDelivery(home_address=event.address, delivery_date=event.day, time_slot=window)
    return DeliveryNotification(
        order_id=case.order_id, username=case.username, home_delivery=home, timestamp=now
    )


def mount(service: Service, desk: SlotDesk) -> None:
    routes, repo = service.routes, desk.repo
    storage = timedelta(seconds=desk.settings.pickup_storage_seconds)

    @routes.get("/cases/{orderId}", response=CaseView, auth="customer")
    async def get_case(request: web.Request) -> web.Response:
        """The order's delivery case: status, slot and history (its owner or an admin)."""
        caller = await customer(request, service.auth)
        case = await repo.case(request.match_info["orderId"])
        if case is None or not (case.username == caller.username or caller.is_admin):
            raise NotFound("delivery case not found")
        return reply(case_view(case))

    @routes.put("/cases/{orderId}/status", body=CaseStatusRequest, response=CaseView, auth="admin")
    async def drive(request: web.Request) -> web.Response:
        """Admin: move the delivery case on (409 for a move the case does not allow).

        in_transit, then at_pickup_point (pickup: the customer is sent a pickup code) or
        out_for_delivery (courier), then received; the same status again changes nothing.
        Not before the warehouse has handed the parcel over (409)."""
        caller = await admin(request, service.auth)
        req = await read_body(request, CaseStatusRequest)
        order_id = request.match_info["orderId"]

        async def move(tx: Tx) -> Case:
            case = await repo.case(order_id, tx.session)
            if case is None:
                raise NotFound("delivery case not found")
            now = desk.clock()
            if req.status is CaseStatus.AT_PICKUP_POINT:
                moved, events = parcels.arrive(
                    case, now, caller.username, parcels.new_code(), storage
                )
            else:
                moved, events = domain.advance(case, req.status, now, by=caller.username)
            if moved is case:
                return case
            saved = await repo.save_case(case, moved, now, tx.session)
            emit(tx, saved, events, now)
            return saved

        return reply(case_view(await service.transaction(move)))
