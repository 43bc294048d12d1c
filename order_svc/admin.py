"""Admin routes: every order with filters, one order with its saga, picking and delivery case,
status changes and cancellations (as the guards allow an admin), returns of delivered orders;
each change is recorded as an admin action in its own transaction."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from order_svc import domain, effects, guards
from order_svc.admin_actions import AdminActions, new_action
from order_svc.book import OrderBook
from order_svc.guards import Actor
from order_svc.views import view
from schemas.fulfilment import CancellationKind
from schemas.notification import NotificationType
from schemas.order import OrderStatus as S
from schemas.order_http import OrderDetail, OrderPage, OrderView, ReturnRequest, StatusChange
from servicekit.errors import DomainError, NotFound
from servicekit.http import read_body, read_query, reply
from servicekit.identity import Caller, admin, session_id
from servicekit.mongo import Doc
from servicekit.neighbours import Neighbour
from servicekit.unit import Tx

DETAIL_TIMEOUT = 3.0
# moves that undo an order: after the hand-over, orchestra's compensation makes them
UNDOING = {S.CANCELLED: CancellationKind.CANCEL, S.RETURNED: CancellationKind.RETURN}
UNDO_REASONS = {
    CancellationKind.CANCEL: "cancelled by an admin",
    CancellationKind.RETURN: "returned (accepted by an admin)",
}


class AdminQuery(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    status: S | None = None
    username: str | None = None
    created_from: datetime | None = Field(default=None, alias="from")
    created_to: datetime | None = Field(default=None, alias="to")
    page: int = Field(default=0, ge=0)
    pageSize: int = Field(default=20, ge=1, le=200)  # the query parameter's name

    def query(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.status:
            query["status"] = self.status.value
        if self.username:
            query["username"] = self.username
        created = {
            op: at for op, at in (("$gte", self.created_from), ("$lt", self.created_to)) if at
        }
        if created:
            query["createdAt"] = created
        return query


async def part_of(neighbour: Neighbour, path: str, sid: str | None) -> dict[str, Any] | None:
    """A neighbour's view of the order, or None when it has none or does not answer."""
    try:
        answer = await neighbour.call(
            "GET", path, sid, idempotent=False, timeout_seconds=DETAIL_TIMEOUT
        )
    except DomainError:
        return None
    return answer.body if answer.ok and isinstance(answer.body, dict) else None


def mount(book: OrderBook, actions: AdminActions) -> None:
    routes, orders, service = book.service.routes, book.orders, book.service

    @routes.get("/admin/orders", response=OrderPage, auth="admin", query=AdminQuery)
    async def list_orders(request: web.Request) -> web.Response:
        """All orders, newest first, by status, customer and creation time (`from` inclusive,
        `to` exclusive, ISO date-times)."""
        await admin(request, service.auth)
        q = read_query(request, AdminQuery)
        docs, total = await orders.page(q.query(), q.page * q.pageSize, q.pageSize)
        return reply(
            OrderPage(
                items=tuple(view(d) for d in docs), page=q.page, page_size=q.pageSize, total=total
            )
        )

    @routes.get("/admin/orders/{id}", response=OrderDetail, auth="admin")
    async def order_detail(request: web.Request) -> web.Response:
        """One order with its saga, picking case, delivery case and the admin actions on it."""
        await admin(request, service.auth)
        doc = await orders.get(request.match_info["id"])
        if doc is None:
            raise NotFound("Order not found")
        sid, oid = session_id(request), doc["_id"]
        saga, picking, delivery, (done, _) = await asyncio.gather(
            part_of(book.orchestra, f"/sagas/{oid}", sid),
            part_of(book.store, f"/picking/{oid}", sid),
            part_of(book.delivery, f"/cases/{oid}", sid),
            actions.page({"orderId": oid}, 0, 200),
        )
        detail = OrderDetail(
            order=view(doc), saga=saga, picking=picking, delivery=delivery, actions=tuple(done)
        )
        parts = {"saga": saga, "picking": picking, "delivery": delivery}
        # a missing part is an explicit null, not an absent key
        return reply({**detail.model_dump(mode="json", by_alias=True, exclude_none=True), **parts})

    async def order_in(tx: Tx, request: web.Request) -> Doc:
        doc = await orders.get(request.match_info["id"], tx.session)
        if doc is None:
            raise NotFound("Order not found")
        return doc

    @routes.put("/admin/orders/{id}/status", body=StatusChange, response=OrderView, auth="admin")
    async def change_status(request: web.Request) -> web.Response:
        """Move an order as the guards allow an admin (others: 409 with the current status).
        CANCELLED (and RETURNED) of a handed-over order goes through orchestra: the order shows
        the pending `cancellation` until its compensation is done."""
        caller = await admin(request, service.auth)
        change = await read_body(request, StatusChange)

        async def apply(tx: Tx) -> Doc:
            doc = await order_in(tx, request)
            if change.status in UNDOING:
                kind = UNDOING[change.status]
                reason = change.reason or UNDO_REASONS[kind]
                new = await book.cancel(tx, doc, caller.username, reason, Actor.ADMIN, kind)
                if new is not doc:  # the same doc: a cancellation was pending already
                    await note(tx, caller, new, kind.value.lower(), reason=reason)
                return new
            guards.check(Actor.ADMIN, S(doc["status"]), change.status, domain.kind_of(doc))
            new = await orders.update(
                doc,
                {},
                tx.session,
                status=change.status,
                by=caller.username,
                at=book.clock(),
                reason=change.reason,
            )
            if change.status is S.COMPLETED:
                effects.notify(tx, new, NotificationType.COMPLETED)
            await note(tx, caller, new, "status", status=change.status, reason=change.reason)
            return new

        return reply(view(await service.transaction(apply)))

    @routes.post("/admin/orders/{id}/return", body=ReturnRequest, response=OrderView, auth="admin")
    async def accept_return(request: web.Request) -> web.Response:
        """A COMPLETED order came back: orchestra refunds it and the store restocks or writes
        off its goods, then the order is RETURNED (other statuses: 409)."""
        caller = await admin(request, service.auth)
        req = await read_body(request, ReturnRequest)

        async def apply(tx: Tx) -> Doc:
            doc = await order_in(tx, request)
            new = await book.cancel(
                tx,
                doc,
                caller.username,
                req.reason,
                Actor.ADMIN,
                kind=CancellationKind.RETURN,
                disposition=req.disposition,
            )
            if new is not doc:
                await note(
                    tx, caller, new, "return", reason=req.reason, disposition=req.disposition
                )
            return new

        return reply(view(await service.transaction(apply)))

    async def note(tx: Tx, caller: Caller, doc: Doc, action: str, **detail: Any) -> None:
        done = new_action(doc["_id"], caller.username, book.clock(), action, **detail)
        await actions.record(tx, done)
