"""Admin routes: every order with filters, and status changes along the status machine."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from order_svc import domain, effects
from order_svc.book import OrderBook
from order_svc.views import view
from schemas.notification import NotificationType
from schemas.order import OrderStatus as S
from schemas.order_http import OrderPage, OrderView, StatusChange
from servicekit.errors import NotFound
from servicekit.http import read_body, read_query, reply
from servicekit.identity import admin
from servicekit.mongo import Doc
from servicekit.unit import Tx


class AdminQuery(BaseModel):
    status: S | None = None
    username: str | None = None
    page: int = Field(default=0, ge=0)
    pageSize: int = Field(default=20, ge=1, le=200)  # the query parameter's name


def mount(book: OrderBook) -> None:
    routes, orders, service = book.service.routes, book.orders, book.service

    @routes.get("/admin/orders", response=OrderPage, auth="admin")
    async def list_orders(request: web.Request) -> web.Response:
        """All orders, newest first, by status and / or customer."""
        await admin(request, service.auth)
        q = read_query(request, AdminQuery)
        query: dict[str, Any] = {}
        if q.status:
            query["status"] = q.status.value
        if q.username:
            query["username"] = q.username
        docs, total = await orders.page(query, q.page * q.pageSize, q.pageSize)
        return reply(
            OrderPage(
                items=tuple(view(d) for d in docs), page=q.page, page_size=q.pageSize, total=total
            )
        )

    @routes.put("/admin/orders/{id}/status", body=StatusChange, response=OrderView, auth="admin")
    async def change_status(request: web.Request) -> web.Response:
        """Move an order along the status machine (illegal moves: 409)."""
        caller = await admin(request, service.auth)
        change = await read_body(request, StatusChange)

        async def apply(tx: Tx) -> Doc:
            doc = await orders.get(request.match_info["id"], tx.session)
            if doc is None:
                raise NotFound("Order not found")
            if change.status is S.CANCELLED:
                return await book.cancel(
                    tx, doc, caller.username, change.reason or "cancelled by an admin"
                )
            domain.check_transition(S(doc["status"]), change.status, domain.kind_of(doc))
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
            return new

        return reply(view(await service.transaction(apply)))
