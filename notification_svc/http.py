"""notification's edge: a notification's delivery status, and the caller's own notifications.

The body models belong in `schemas/notification.py`; they live here until that module is free
to change (the same camelCase wire names either way).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from notification_svc.domain import Clock, Kind, Notification, NotificationNotFound, Status
from notification_svc.repository import Accounts, Notifications
from notification_svc.sms_receipts import (
    SIGNATURE_HEADER,
    ReceiptRecorded,
    SmsReceipt,
    signed_by,
)
from schemas.base import WireModel
from schemas.notification import Channel
from servicekit.errors import NotFound, Unauthorized
from servicekit.http import read_body, read_query, reply
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
    # how far it got: pending / sending / accepted (the provider took it) / delivered or
    # failed (the SMS gateway's receipt) / skipped (the channel is turned off)
    delivery: str
    created_at: datetime
    sent_at: datetime | None = None
    error_message: str | None = None  # why it failed
    payload: dict[str, Any]


class Preferences(WireModel):
    """`GET|PUT /notifications/preferences`: the channels the customer wants notices by
    (codes, reset links and pickup notices come whatever they choose); `addresses` is
    what we have for each channel (read only)."""

    channels: Annotated[tuple[Channel, ...], Field(max_length=2)]
    addresses: dict[str, str] | None = None


class PageQuery(WireModel):
    page: Annotated[int, Field(ge=0, le=10_000)] = 0
    page_size: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = 20


class NotificationPage(WireModel):
    items: tuple[NotificationBody, ...]
    page: int
    page_size: int
    total: int


class NoAccount(NotFound):
    def __init__(self) -> None:
        super().__init__("no notification account for this user (register first)")


def body_of(n: Notification) -> NotificationBody:
    return NotificationBody(
        id=n.id,
        username=n.username,
        channel=n.channel,
        kind=n.kind,
        to=n.to,
        status=n.status,
        delivery=n.delivery,
        created_at=n.created_at,
        sent_at=n.sent_at,
        error_message=n.error,
        payload=n.payload,
    )


def register(service: Service, clock: Clock, webhook_secret: str) -> None:
    notifications = Notifications(service.db)
    accounts = Accounts(service.db)

    @service.routes.get("/notifications/preferences", response=Preferences, auth="customer")
    async def get_preferences(request: web.Request) -> web.Response:
        """The caller's chosen channels and their addresses."""
        caller = await customer(request, service.auth)
        return reply(await preferences_of(caller.username))

    async def preferences_of(username: str) -> Preferences:
        found = await accounts.preferences(username)
        if found is None:
            raise NoAccount()
        addresses, chosen = found
        return Preferences(channels=tuple(map(Channel, chosen)), addresses=addresses)

    @service.routes.put(
        "/notifications/preferences", body=Preferences, response=Preferences, auth="customer"
    )
    async def put_preferences(request: web.Request) -> web.Response:
        """Choose the channels notices come by (an empty list: only the must-get ones)."""
        caller = await customer(request, service.auth)
        wanted = await read_body(request, Preferences)
        chosen = sorted({c.value for c in wanted.channels})
        if not await accounts.choose(caller.username, chosen, clock()):
            raise NoAccount()
        return reply(await preferences_of(caller.username))

    @service.routes.post(
        "/notifications/sms/receipts",
        body=SmsReceipt,
        response=ReceiptRecorded,
        auth="sms-signature",
    )
    async def sms_receipt(request: web.Request) -> web.Response:
        """The SMS gateway's delivery receipt (signed with the shared secret)."""
        raw = await request.read()
        if not signed_by(webhook_secret, raw, request.headers.get(SIGNATURE_HEADER, "")):
            raise Unauthorized("the receipt is not signed by the SMS gateway")
        receipt = await read_body(request, SmsReceipt)
        stored = await notifications.receipt(
            receipt.client_message_id, receipt.status.value, receipt.error, clock()
        )
        if not stored:
            raise NotificationNotFound()
        return reply(ReceiptRecorded(recorded=receipt.status))

    @service.routes.get("/notifications/{id}", response=NotificationBody, auth="customer")
    async def get_notification(request: web.Request) -> web.Response:
        """A notification and its delivery status (its owner or an admin)."""
        caller = await customer(request, service.auth)
        n = await notifications.get(request.match_info["id"])
        if n is None or not n.visible_to(caller.username, caller.is_admin):
            raise NotificationNotFound()
        return reply(body_of(n))

    @service.routes.get(
        "/notifications", response=NotificationPage, auth="customer", query=PageQuery
    )
    async def list_notifications(request: web.Request) -> web.Response:
        """The caller's notifications, newest first (`page` counts from 0)."""
        caller = await customer(request, service.auth)
        q = read_query(request, PageQuery)
        found, total = await notifications.page(caller.username, q.page * q.page_size, q.page_size)
        items = tuple(body_of(n) for n in found)
        return reply(NotificationPage(items=items, page=q.page, page_size=q.page_size, total=total))
