"""`/admin`: every order with filters and paging, and one order with its status history,
positions, payment and the saga's timeline (status change and refund: `order_actions`)."""

from __future__ import annotations

import math
import uuid
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from servicekit.errors import ServiceUnavailable
from web_front.admin import labels
from web_front.admin.access import admin_only, read
from web_front.admin.timeline import timeline
from web_front.edges import call
from web_front.forms import Form
from web_front.render import render

PAGE_SIZE = 20


def page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    return max(1, min(int(raw), 100_000)) if raw.isdigit() else 1


def filters_of(request: web.Request) -> dict[str, str]:
    """The list's filters as typed: an unknown status is dropped, not sent to the edge."""
    status = request.query.get("status", "")
    return {
        "status": status if status in labels.STATUS_NAMES else "",
        "username": request.query.get("username", "").strip()[:64],
    }


@admin_only
async def order_list(request: web.Request) -> web.Response:
    filters, page = filters_of(request), page_number(request)
    params = {k: v for k, v in filters.items() if v}
    found = await read(
        request, "order", "/admin/orders", page=str(page - 1), pageSize=str(PAGE_SIZE), **params
    )
    context = {
        "found": found,
        "filters": filters,
        "page": page,
        "pages": max(1, math.ceil(found["total"] / PAGE_SIZE)),
        "statuses": labels.STATUS_NAMES,
        "query": urlencode(params),
    }
    return await render(request, "admin/orders.html", context)


async def saga_of(request: web.Request, order_id: str) -> dict[str, Any]:
    """The saga's timeline; an order never handed to the saga has none, and an orchestra
    that is away leaves the rest of the page readable."""
    try:
        answer = await call(request, "orchestra", "GET", f"/sagas/{order_id}")
    except ServiceUnavailable:
        return {"away": True}
    if answer.status == 404:
        return {"none": True}
    if not answer.ok:
        return {"away": True}
    return timeline(answer.body)


async def payment_of(request: web.Request, order: dict[str, Any]) -> dict[str, Any] | None:
    if not order.get("paymentId"):
        return None
    try:
        answer = await call(request, "payment", "GET", f"/payments/{order['paymentId']}")
    except ServiceUnavailable:
        return {"away": True}
    return answer.body if answer.ok else {"away": True}


async def render_order(
    request: web.Request, forms: dict[str, Form] | None = None, status: int = 200
) -> web.Response:
    """The order page; `forms` carries a failed form (typed values and errors) back."""
    order_id = request.match_info["id"]
    order = await read(request, "order", "/get", orderId=order_id)
    forms = forms or {}
    payment = await payment_of(request, order)
    context = {
        "order": order,
        "saga": await saga_of(request, order_id),
        "payment": payment,
        "labels": labels,
        "moves": labels.next_statuses(order),
        "status_form": forms.get("status", Form()),
        "refund_form": forms.get("refund", Form(values={"key": str(uuid.uuid4())})),
        "refundable": refundable(payment),
        "done": request.query.get("done", ""),
    }
    return await render(request, "admin/order.html", context, status=status)


def refundable(payment: dict[str, Any] | None) -> int:
    """Kopecks still refundable by hand: captured minus refunded (0 when nothing is)."""
    if not payment or payment.get("away") or payment.get("status") != "SUCCEEDED":
        return 0
    return int(payment["amount"]) - int(payment.get("refunded", 0))


@admin_only
async def order_page(request: web.Request) -> web.Response:
    return await render_order(request)


def mount(app: web.Application) -> None:
    app.router.add_get("/admin", order_list)
    app.router.add_get("/admin/orders/{id}", order_page)
