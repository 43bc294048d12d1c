"""order_svc's edge, cart part: 001 `POST /place`, `PUT /adjust`, `PUT /cancel`, `GET /get`,
and the customer's own order history (004)."""

from __future__ import annotations

import uuid

from aiohttp import web
from pydantic import BaseModel, Field
from pymongo.errors import DuplicateKeyError

from order_svc import domain
from order_svc.book import OrderBook
from order_svc.guards import Actor
from order_svc.repository import items_doc, positions_of
from order_svc.views import view
from schemas.base import DEFAULT_CURRENCY
from schemas.order import OrderStatus as S
from schemas.order_http import (
    AdjustRequest,
    ItemRequest,
    OrderPage,
    OrderView,
    PlaceRequest,
    VersionedRef,
)
from servicekit.errors import Conflict, InvalidRequest
from servicekit.http import read_body, read_query, reply
from servicekit.identity import customer, session_id
from servicekit.mongo import Doc
from servicekit.unit import Tx


class PageQuery(BaseModel):
    page: int = Field(default=0, ge=0)
    pageSize: int = Field(default=20, ge=1, le=100)  # the query parameter's name


class OrderQuery(BaseModel):
    orderId: str = Field(min_length=1)  # the query parameter's name


def mount(book: OrderBook) -> None:
    routes, orders, auth = book.service.routes, book.orders, book.service.auth

    @routes.post("/place", body=PlaceRequest, response=OrderView, auth="customer")
    async def place(request: web.Request) -> web.Response:
        """Create the cart (a NEW order) with its first item(s); prices come from the store.
        A client-chosen `id` makes the call idempotent."""
        caller = await customer(request, auth)
        req = await read_body(request, PlaceRequest)
        if req.id and (existing := await orders.get(req.id)) is not None:
            if existing["username"] != caller.username:
                raise Conflict("order id is taken")
            return reply(view(existing))
        if (cart := await orders.cart_of(caller.username)) is not None:
            raise Conflict(f"there is already a NEW order {cart['_id']}: use PUT /adjust")
        changes = await wanted(req.order_items, session_id(request))
        positions = domain.adjust([], changes)
        if not positions:
            raise InvalidRequest("orderItems: at least one quantity must be positive")
        now = book.clock()
        doc = {
            "_id": req.id or str(uuid.uuid4()),
            "username": caller.username,
            "cartOf": caller.username,
            "status": S.NEW.value,
            "version": 0,
            "items": items_doc(positions),
            "total": domain.total(positions),
            "currency": DEFAULT_CURRENCY,
            "email": caller.email,
            "createdAt": now,
            "updatedAt": now,
            "history": [domain.history_entry(S.NEW, caller.username, now)],
        }
        try:
            await orders.insert(doc)
        except DuplicateKeyError as exc:
            raise Conflict("there is already a NEW order for this customer") from exc
        return reply(view(doc))

    async def wanted(
        items: tuple[ItemRequest, ...], sid: str | None
    ) -> dict[int, tuple[int, str, int]]:
        quantities = {i.product.id: i.quantity for i in items}
        if len(quantities) != len(items):
            raise InvalidRequest("orderItems: each product may appear once")
        adding = [pid for pid, q in quantities.items() if q > 0]
        known = await book.products(adding, sid) if adding else {}
        return {pid: (q, *known.get(pid, ("", 0))) for pid, q in quantities.items()}

    @routes.put("/adjust", body=AdjustRequest, response=OrderView, auth="customer")
    async def adjust(request: web.Request) -> web.Response:
        """Add, change (quantity) or remove (quantity 0) positions of the NEW order, at the
        `version` the client last read (stale: 409)."""
        caller = await customer(request, auth)
        req = await read_body(request, AdjustRequest)
        doc = await book.owned(caller, req.id)
        domain.check_goods(domain.kind_of(doc), "adjusted")
        domain.check_version(doc["version"], req.version)
        if doc["status"] != S.NEW:
            raise Conflict(f"only a NEW order can be adjusted; this one is {doc['status']}")
        changes = await wanted(req.order_items, session_id(request))
        positions = domain.adjust(positions_of(doc), changes)
        new = await orders.update(
            doc,
            {
                "items": items_doc(positions),
                "total": domain.total(positions),
                "updatedAt": book.clock(),
            },
        )
        return reply(view(new))

    @routes.put("/cancel", body=VersionedRef, response=OrderView, auth="customer")
    async def cancel(request: web.Request) -> web.Response:
        """Cancel a NEW, AWAITING_PAYMENT or PAID order at once (a paid one is refunded), or a
        CONFIRMED one until picking starts (orchestra undoes it and refunds; the order shows the
        pending `cancellation` until then). An order in progress cannot be cancelled: 409."""
        caller = await customer(request, auth)
        req = await read_body(request, VersionedRef)
        doc = await book.owned(caller, req.id)
        domain.check_version(doc["version"], req.version)

        async def apply(tx: Tx) -> Doc:
            fresh = await orders.get(req.id, tx.session) or doc
            domain.check_version(fresh["version"], req.version)
            return await book.cancel(
                tx, fresh, caller.username, "cancelled by the customer", Actor.CUSTOMER
            )

        return reply(view(await book.service.transaction(apply)))

    @routes.get("/get", response=OrderView, auth="customer", query=OrderQuery)
    async def get(request: web.Request) -> web.Response:
        """The order `?orderId=` (owner or admin; 404 for anyone else)."""
        caller = await customer(request, auth)
        order_id = request.query.get("orderId")
        if not order_id:
            raise InvalidRequest("orderId should be provided")
        return reply(view(await book.owned(caller, order_id)))

    @routes.get("/orders", response=OrderPage, auth="customer", query=PageQuery)
    async def history(request: web.Request) -> web.Response:
        """The caller's own orders, newest first."""
        caller = await customer(request, auth)
        q = read_query(request, PageQuery)
        docs, total = await orders.page(
            {"username": caller.username}, q.page * q.pageSize, q.pageSize
        )
        return reply(
            OrderPage(
                items=tuple(view(d) for d in docs), page=q.page, page_size=q.pageSize, total=total
            )
        )
