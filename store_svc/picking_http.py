"""store_svc's edge, picking part: the warehouse staff (an admin's session, or the warehouse's
service credential `Authorization: Bearer <SAGASHOP_WAREHOUSE_TOKEN>`) list the picking cases,
read one with its history and move it on."""

from __future__ import annotations

import hmac

from aiohttp import web

from schemas.catalog_http import (
    PickingCase,
    PickingCaseList,
    PickingQuery,
    PickingStatus,
    PickingStatusUpdate,
)
from servicekit.errors import InvalidRequest, NotFound, Unauthorized
from servicekit.http import read_body, read_query, reply
from servicekit.identity import admin
from servicekit.mongo import Doc
from servicekit.unit import Tx
from store_svc import views
from store_svc.keeper import StockKeeper
from store_svc.picking import PickingDesk

WAREHOUSE = "warehouse"


def bearer(request: web.Request) -> str | None:
    """The bearer token the request carries; None without an Authorization header."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def staff(request: web.Request, keeper: StockKeeper) -> str:
    """Who moves picking cases: the warehouse (its token) or an admin (401 / 403 otherwise).
    A token that is sent but wrong is refused even with an admin's session."""
    given = bearer(request)
    if given is None:
        return (await admin(request, keeper.service.auth)).username
    wanted = keeper.settings.warehouse_token
    # compare_digest: the time taken tells nothing about how much of a guess was right
    if not wanted or not hmac.compare_digest(given.encode(), wanted.encode()):
        raise Unauthorized("Invalid warehouse token")
    return WAREHOUSE


def statuses(raw: str | None) -> list[PickingStatus] | None:
    if not raw:
        return None
    try:
        return [PickingStatus(s.strip().lower()) for s in raw.split(",") if s.strip()]
    except ValueError as exc:
        known = ", ".join(PickingStatus)
        raise InvalidRequest(f"status: one or more of {known}") from exc


def mount(keeper: StockKeeper) -> None:
    service = keeper.service
    desk = PickingDesk(keeper)

    @service.routes.get("/picking", response=PickingCaseList, auth="staff", query=PickingQuery)
    async def list_cases(request: web.Request) -> web.Response:
        """Picking cases, oldest first: by status (comma-separated) and warehouse."""
        await staff(request, keeper)
        query = read_query(request, PickingQuery)
        docs = await keeper.picking.listed(
            statuses(query.status), (query.warehouse or "").strip() or None, query.limit
        )
        return reply(PickingCaseList(cases=tuple(map(views.picking_case, docs))))

    @service.routes.get("/picking/{orderId}", response=PickingCase, auth="staff")
    async def get_case(request: web.Request) -> web.Response:
        """The picking case of a booked order, with its history."""
        await staff(request, keeper)
        doc = await keeper.picking.get(request.match_info["orderId"])
        if doc is None:
            raise NotFound("Picking case not found")
        return reply(views.picking_case(doc))

    @service.routes.put(
        "/picking/{orderId}/status", body=PickingStatusUpdate, response=PickingCase, auth="staff"
    )
    async def move(request: web.Request) -> web.Response:
        """Move the case on (created -> picking -> picked -> handed_over; damaged from picking
        or picked, with productId and quantity); the same status again changes nothing; a move
        the case does not allow is 409 with its status."""
        by = await staff(request, keeper)
        order_id = request.match_info["orderId"]
        req = await read_body(request, PickingStatusUpdate)

        async def run(tx: Tx) -> Doc:
            return await desk.move(tx, order_id, req, by)

        return reply(views.picking_case(await service.transaction(run)))
