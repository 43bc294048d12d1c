"""`/admin`: every order with filters and paging, and one order with its status history,
positions, payment and the saga's timeline (status change and refund: `order_actions`)."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from servicekit.errors import ServiceUnavailable
from web_front import lifecycle
from web_front.admin import labels
from web_front.admin.access import admin_only, read
from web_front.admin.timeline import timeline
from web_front.admin.warehouse import CASE_STATUSES
from web_front.edges import call
from web_front.forms import Form
from web_front.pages.orders import MOSCOW
from web_front.render import render

PAGE_SIZE = 20


def page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    return max(1, min(int(raw), 100_000)) if raw.isdigit() else 1


def day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


def filters_of(request: web.Request) -> dict[str, str]:
    """The list's filters as typed: an unknown status or a date that is not one is dropped,
    not sent to the edge."""
    status = request.query.get("status", "")
    dates = {name: day(request.query.get(name, "")) for name in ("from", "to")}
    return {
        "status": status if status in labels.STATUS_NAMES else "",
        "username": request.query.get("username", "").strip()[:64],
        **{name: found.isoformat() if found else "" for name, found in dates.items()},
    }


def edge_params(filters: dict[str, str]) -> dict[str, str]:
    """The dates as order_svc reads them: from the first day's Moscow midnight (inclusive)
    to the midnight after the last day (exclusive)."""
    params = {k: v for k, v in filters.items() if v and k in ("status", "username")}
    if filters["from"]:
        params["from"] = datetime.combine(
            date.fromisoformat(filters["from"]), time(), MOSCOW
        ).isoformat()
    if filters["to"]:
        after = date.fromisoformat(filters["to"]) + timedelta(days=1)
        params["to"] = datetime.combine(after, time(), MOSCOW).isoformat()
    return params


@admin_only
async def order_list(request: web.Request) -> web.Response:
    filters, page = filters_of(request), page_number(request)
    params = edge_params(filters)
    found = await read(
        request, "order", "/admin/orders", page=str(page - 1), pageSize=str(PAGE_SIZE), **params
    )
    context = {
        "found": found,
        "filters": filters,
        "page": page,
        "pages": max(1, math.ceil(found["total"] / PAGE_SIZE)),
        "statuses": labels.STATUS_NAMES,
        "query": urlencode({k: v for k, v in filters.items() if v}),
    }
    return await render(request, "admin/orders.html", context)


def saga_of(saga: dict[str, Any] | None, order: dict[str, Any]) -> dict[str, Any]:
    """The saga's timeline; order_svc gives none for an order never handed to the saga (or
    when orchestra did not answer), and the rest of the page stays readable."""
    return timeline(saga, order) if saga else {"none": True}


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
    detail = await read(request, "order", f"/admin/orders/{quote(request.match_info['id'])}")
    order, forms = detail["order"], forms or {}
    payment = await payment_of(request, order)
    context = {
        "order": order,
        "saga": saga_of(detail.get("saga"), order),
        "c": detail.get("picking"),
        "case": detail.get("delivery"),
        "actions": detail.get("actions", ()),
        "names": {p["product"]["id"]: p["product"]["name"] for p in order["orderItems"]},
        "statuses": CASE_STATUSES,
        "case_words": lifecycle.CASE_WORDS,
        "payment": payment,
        "labels": labels,
        "moves": labels.next_statuses(order),
        "status_form": forms.get("status", Form()),
        "refund_form": forms.get("refund", Form(values={"key": str(uuid.uuid4())})),
        "refundable": refundable(payment),
        **fulfilment_forms(order, forms),
        "done": request.query.get("done", ""),
    }
    return await render(request, "admin/order.html", context, status=status)


def fulfilment_forms(order: dict[str, Any], forms: dict[str, Form]) -> dict[str, Any]:
    """Cancel (any time until delivered, not while the saga runs) and accept a return (a
    delivered order): one undoing at a time."""
    status, pending = order["status"], order.get("cancellation")
    undone = pending and not pending.get("doneAt")
    return {
        "may_cancel": labels.may_cancel(order) and not undone,
        "may_return": status == "COMPLETED" and not undone,
        "pending": undone and pending,
        "cancel_form": forms.get("cancel", Form()),
        "return_form": forms.get("return", Form(values={"disposition": "RESTOCK"})),
    }


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
