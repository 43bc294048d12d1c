"""Every admin action on an order (status changes, cancellations, returns), with who and when:
written in the same transaction as the change, read by `GET /admin/actions` and an order's
admin detail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from order_svc.book import OrderBook
from schemas.order_http import AdminAction, AdminActionPage
from servicekit.http import read_query, reply
from servicekit.identity import admin
from servicekit.mongo import Doc
from servicekit.unit import Tx


class ActionQuery(BaseModel):
    orderId: str | None = None  # the query parameters' names
    by: str | None = None
    page: int = Field(default=0, ge=0)
    pageSize: int = Field(default=50, ge=1, le=200)


class AdminActions:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.actions = db.admin_actions

    async def ensure_indexes(self) -> None:
        await self.actions.create_index([("orderId", ASCENDING), ("at", DESCENDING)])
        await self.actions.create_index([("by", ASCENDING), ("at", DESCENDING)])
        await self.actions.create_index([("at", DESCENDING)])

    async def record(self, tx: Tx, action: AdminAction) -> None:
        doc = action.model_dump(mode="python", exclude_none=True)
        await self.actions.insert_one(
            {
                "_id": doc.pop("id"),
                "orderId": doc.pop("order_id"),
                **{k: v.value if hasattr(v, "value") else v for k, v in doc.items()},
            },
            session=tx.session,
        )

    async def page(self, query: Doc, skip: int, limit: int) -> tuple[list[AdminAction], int]:
        cursor = self.actions.find(query).sort("at", DESCENDING).skip(skip).limit(limit)
        docs = await cursor.to_list()
        return [action_view(d) for d in docs], await self.actions.count_documents(query)


def new_action(order_id: str, by: str, at: datetime, action: str, **detail: Any) -> AdminAction:
    return AdminAction(
        id=str(uuid.uuid4()), order_id=order_id, by=by, at=at, action=action, **detail
    )


def action_view(doc: Doc) -> AdminAction:
    return AdminAction(
        id=doc["_id"],
        order_id=doc["orderId"],
        by=doc["by"],
        at=doc["at"],
        action=doc["action"],
        status=doc.get("status"),
        reason=doc.get("reason"),
        disposition=doc.get("disposition"),
    )


def mount(book: OrderBook, actions: AdminActions) -> None:
    service = book.service

    @service.routes.get("/admin/actions", response=AdminActionPage, auth="admin", query=ActionQuery)
    async def list_actions(request: web.Request) -> web.Response:
        """Admin actions, newest first, by order and / or admin."""
        await admin(request, service.auth)
        q = read_query(request, ActionQuery)
        query = {k: v for k, v in (("orderId", q.orderId), ("by", q.by)) if v}
        items, total = await actions.page(query, q.page * q.pageSize, q.pageSize)
        return reply(
            AdminActionPage(items=tuple(items), page=q.page, page_size=q.pageSize, total=total)
        )
