"""delivery_svc's edge, choosing a delivery: pickup points and courier companies (guests may
look), courier quotes, and slot holds (`POST /slots` is what order_svc calls at checkout with the
customer's `sessionId` cookie and its holds credential, servicekit.holds: nobody else may).
The delivery case's routes are in cases.py."""

from __future__ import annotations

import uuid
from datetime import timedelta

from aiohttp import web

from delivery_svc.adapters import CourierCompanies, offer_of
from delivery_svc.domain import Quote
from delivery_svc.reservations import SlotDesk
from delivery_svc.slots import Hold
from schemas.delivery import TimeSlot
from schemas.delivery_http import (
    CourierList,
    CourierView,
    HoldStatus,
    PickupPointList,
    PickupPointView,
    QuoteRequest,
    QuoteView,
    SlotHoldView,
    SlotRequest,
)
from servicekit.errors import Conflict, NotFound
from servicekit.holds import holder_owner
from servicekit.http import read_body, reply
from servicekit.identity import customer
from servicekit.service import Service
from servicekit.unit import Tx


def hold_view(hold: Hold) -> SlotHoldView:
    return SlotHoldView(
        order_id=hold.order_id,
        slot_id=hold.slot.slot_id,
        kind=hold.kind,
        delivery_date=hold.slot.day,
        time_slot=TimeSlot(begin_time=hold.slot.window.begin, end_time=hold.slot.window.end),
        expires_at=hold.expires_at,
        cost=hold.cost,
        status=hold.status,
    )


def quote_view(quote: Quote) -> QuoteView:
    return QuoteView(
        quote_id=quote.quote_id,
        cost=quote.cost,
        expires_at=quote.expires_at,
        address=quote.address,
        courier_company=quote.courier_company,
    )


def mount(service: Service, desk: SlotDesk, couriers: CourierCompanies) -> None:
    routes, repo = service.routes, desk.repo
    quote_ttl = timedelta(seconds=desk.settings.quote_ttl_seconds)

    @routes.get("/pickup-points", response=PickupPointList)
    async def pickup_points(_: web.Request) -> web.Response:
        """The pickup points an order can be collected at."""
        docs = await repo.active_points()
        items = [
            PickupPointView(
                id=d["_id"], name=d["name"], address=d["address"], working_hours=d["workingHours"]
            )
            for d in docs
        ]
        return reply(PickupPointList(items=tuple(items)))

    @routes.get("/couriers", response=CourierList)
    async def courier_companies(_: web.Request) -> web.Response:
        """The courier companies that deliver to a home address."""
        items = tuple(CourierView(id=c.id, name=c.name) for c in couriers.companies())
        return reply(CourierList(items=items))

    @routes.post("/quotes", body=QuoteRequest, response=QuoteView, auth="customer")
    async def quote(request: web.Request) -> web.Response:
        """A courier company's price for delivering to the address.

        The customer accepts it at checkout (`quoteId` and `cost`) before `expiresAt`."""
        caller = await customer(request, service.auth)
        req = await read_body(request, QuoteRequest)
        offer = await offer_of(couriers, req.courier_company, req.address)
        now = desk.clock()
        given = Quote(
            quote_id=uuid.uuid4().hex,
            username=caller.username,
            address=req.address,
            courier_company=req.courier_company,
            cost=offer.cost,
            expires_at=now + quote_ttl,
            carrier_quote_id=offer.carrier_quote_id,
            carrier_expires_at=offer.carrier_expires_at,
        )
        await repo.insert_quote(given, now)
        return reply(quote_view(given))

    @routes.post("/slots", body=SlotRequest, response=SlotHoldView, auth="holds")
    async def hold_slot(request: web.Request) -> web.Response:
        """Pre-reserve a delivery slot for the order until `expiresAt`.

        The earliest window with a free place; the same request again answers the same hold,
        another delivery choice for the order replaces it. order_svc's checkout only (its
        holds credential): anyone else 403, holding nothing."""
        caller = await customer(request, service.auth)
        req = await read_body(request, SlotRequest)
        username = holder_owner(request, desk.settings.holds_token, caller)

        async def hold(tx: Tx) -> Hold:
            return await desk.hold(username, req.order_id, req.delivery, tx.session)

        return reply(hold_view(await service.transaction(hold)))

    @routes.get("/slots/{orderId}", response=SlotHoldView, auth="customer")
    async def get_slot(request: web.Request) -> web.Response:
        """The order's slot hold (its owner only)."""
        caller = await customer(request, service.auth)
        held = await repo.hold(request.match_info["orderId"])
        if held is None or held.username != caller.username:
            raise NotFound("no slot is held for this order")
        return reply(hold_view(held))

    @routes.delete("/slots/{orderId}", response=SlotHoldView, auth="customer")
    async def release_slot(request: web.Request) -> web.Response:
        """Give the order's held slot back (its owner; 409 once the delivery is confirmed)."""
        caller = await customer(request, service.auth)
        order_id = request.match_info["orderId"]

        async def release(tx: Tx) -> Hold:
            held = await repo.hold(order_id, tx.session)
            if held is None or held.username != caller.username:
                raise NotFound("no slot is held for this order")
            if held.status is HoldStatus.USED:
                raise Conflict("the delivery of this order is confirmed: cancel the order instead")
            return await desk.release(order_id, tx.session) or held

        return reply(hold_view(await service.transaction(release)))
