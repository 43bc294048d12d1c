"""notification's edge: a notification's delivery status, and the caller's own notifications.

The body models belong in `schemas/notification.py`; they live here until that module is free
to change (the same camelCase wire names either way).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from notification_svc.domain import Kind, Notification, NotificationNotFound, Status
from notification_svc.repository import Notifications
from schemas.base import WireModel
from schemas.notification import Channel
from servicekit.http import read_query, reply
from servicekit.identity import customer
from servicekit.service import Service

MAX_PAGE_SIZE = 100


class NotificationBody(WireModel):
    id: str
    username: str
    channel: Channel
    kind: Kind
    to: str
    status: Status
    created_at: datetime
    sent_at: datetime | None = None
    error: str | None = None
    payload: dict[str, Any]


class PageQuery(WireModel):
    page: Annotated[int, Field(ge=0, le=10_000)] = 0
    page_size: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = 20


class NotificationPage(WireModel):
    items: tuple[NotificationBody, ...]
    page: int
    page_size: int
    total: int


def body_of(n: Notification) -> NotificationBody:
    return NotificationBody(
        id=n.id,
        username=n.username,
        channel=n.channel,
        kind=n.kind,
        to=n.to,
        status=n.status,
        created_at=n.created_at,
        sent_at=n.sent_at,
        error=n.error,
        payload=n.payload,
    )


def register(service: Service) -> None:
    notifications = Notifications(service.db)

    @service.routes.get("/notifications/{id}", response=NotificationBody, auth="customer")
    async def get_notification(request: web.Request) -> web.Response:
        """A notification and its delivery status (its owner or an admin)."""
        caller = await customer(request, service.auth)
        n = await notifications.get(request.match_info["id"])
        if n is None or not n.visible_to(caller.username, caller.is_admin):
            raise NotificationNotFound()
        return reply(body_of(n))

    @service.routes.get("/notifications", response=NotificationPage, auth="customer")
    async def list_notifications(request: web.Request) -> web.Response:
        """The caller's notifications, newest first (`page` counts from 0)."""
        caller = await customer(request, service.auth)
        q = read_query(request, PageQuery)
        found, total = await notifications.page(caller.username, q.page * q.page_size, q.page_size)
        items = tuple(body_of(n) for n in found)
        return reply(NotificationPage(items=items, page=q.page, page_size=q.page_size, total=total))
