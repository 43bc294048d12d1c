"""store_svc's edge, reservations part: the customer's pre-reservation at checkout (004
ReserverProductApi). Only order_svc creates one (its holds credential, servicekit.holds, with
the customer's `sessionId` and the order's owner); the owner and admins read and release."""

from __future__ import annotations

from aiohttp import web

from schemas.catalog_http import ReservationRequest, ReservationView
from servicekit.errors import NotFound
from servicekit.holds import holder_owner
from servicekit.http import read_body, reply
from servicekit.identity import Caller, customer
from servicekit.mongo import Doc
from servicekit.unit import Tx
from store_svc import domain, views
from store_svc.keeper import StockKeeper


def mount(keeper: StockKeeper) -> None:
    service = keeper.service
    routes = service.routes

    def owner(caller: Caller) -> str | None:
        """Whose reservations the caller may see and release: their own, or all (admin)."""
        return None if caller.is_admin else caller.username

    @routes.post(
        "/reservations",
        body=ReservationRequest,
        response=ReservationView,
        status=201,
        auth="holds",
        also=(200,),
    )
    async def reserve(request: web.Request) -> web.Response:
        """Pre-reserve every position of the order or none (409 names what is short), until
        `expiresAt`. Repeating the request for the same order answers the same reservation
        (200); new positions for a pre-reserved order replace the old ones. order_svc's
        checkout only (its holds credential): anyone else 403, holding nothing."""
        caller = await customer(request, service.auth)
        req = await read_body(request, ReservationRequest)
        username = holder_owner(request, keeper.settings.holds_token, caller)
        wanted = domain.merge_items((i.product_id, i.quantity) for i in req.items)

        async def run(tx: Tx) -> tuple[Doc, bool]:
            return await keeper.reserve(tx.session, req.order_id, username, wanted)

        doc, created = await service.transaction(run)
        return reply(views.reservation(doc), status=201 if created else 200)

    @routes.get("/reservations/{orderId}", response=ReservationView, auth="customer")
    async def get_reservation(request: web.Request) -> web.Response:
        """The order's reservation (its owner or an admin)."""
        who = owner(await customer(request, service.auth))
        doc = await keeper.reservations.get(request.match_info["orderId"])
        if doc is None or (who is not None and doc.get("username") != who):
            raise NotFound("Reservation not found")
        return reply(views.reservation(doc))

    @routes.delete("/reservations/{orderId}", response=ReservationView, auth="customer")
    async def release(request: web.Request) -> web.Response:
        """Give the pre-reserved units back (its owner or an admin); repeating it is harmless;
        a booked order answers 409."""
        who = owner(await customer(request, service.auth))
        order_id = request.match_info["orderId"]

        async def run(tx: Tx) -> Doc | None:
            return await keeper.release(tx.session, order_id, who)

        doc = await service.transaction(run)
        if doc is None:
            raise NotFound("Reservation not found")
        return reply(views.reservation(doc))
