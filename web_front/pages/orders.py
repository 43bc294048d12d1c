""" "Мои заказы": the customer's orders, one order with its status history, delivery and
payment, "Отменить заказ", a live view of a running order, and the customer's notifications."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from servicekit.errors import ServiceUnavailable
from web_front import lifecycle
from web_front.edges import call
from web_front.pages.cart import require_customer
from web_front.render import render

PAGE_SIZE = 10
NOTIFICATION_WORDS = {
    "registration": "Добро пожаловать",
    "verification_code": "Код подтверждения",
    "password_reset": "Восстановление пароля",
    "order_outcome": "Итог заказа",
    "payment_result": "Оплата",
    "order_status": "Статус заказа",
    "delivery": "Доставка",
    "gift_card": "Подарочная карта",
}
CHANNEL_WORDS = {"email": "e-mail", "sms": "SMS"}
SENT_WORDS = {"PENDING": "ждёт отправки", "SENDING": "отправляется", "SENT": "отправлено",
              "FAILED": "не доставлено"}  # fmt: skip


MOSCOW = ZoneInfo("Europe/Moscow")


def moscow_time(stamp: str | None) -> str:
    """An edge's ISO timestamp as a shopper in Moscow reads it: "04.12.2026 19:14"."""
    if not stamp:
        return ""
    try:
        return datetime.fromisoformat(stamp).astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M")
    except ValueError:
        return stamp


def ru_date(stamp: str | None) -> str:
    """A date (or the date of a timestamp) as a shopper reads it: "07.12.2026"."""
    if not stamp:
        return ""
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return (when.astimezone(MOSCOW) if when.tzinfo else when).strftime("%d.%m.%Y")


def page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    return max(1, min(int(raw), 10_000)) if raw.isdigit() else 1


async def list_orders(request: web.Request) -> web.Response:
    await require_customer(request)
    page = page_number(request)
    params = {"page": str(page - 1), "pageSize": str(PAGE_SIZE)}
    answer = await call(request, "order", "GET", "/orders", params=params)
    found: dict[str, Any] = answer.body if answer.ok else {"items": [], "total": 0}
    context = {
        "orders": [o for o in found["items"] if o["status"] != "NEW"],
        "page": page,
        "pages": max(1, math.ceil(found["total"] / PAGE_SIZE)),
        "words": lifecycle.STATUS_WORDS,
    }
    return await render(request, "orders/list.html", context)


async def delivery_names(request: web.Request, delivery: dict[str, Any] | None) -> dict[str, str]:
    """The pickup point's name and address, or the courier company's name, for the delivery
    the order carries only ids of."""
    if not delivery:
        return {}
    if delivery.get("type") == "pickup":
        found = await call(request, "delivery", "GET", "/pickup-points")
        points = found.body.get("items", []) if found.ok else []
        point = next((p for p in points if p["id"] == delivery.get("pointId")), None)
        return {"point": f"{point['name']}, {point['address']}"} if point else {}
    found = await call(request, "delivery", "GET", "/couriers")
    couriers = found.body.get("items", []) if found.ok else []
    names = {c["id"]: c["name"] for c in couriers}
    return {"courier": names.get(str(delivery.get("courierCompany")), "")}


async def payment_of(request: web.Request, order: dict[str, Any]) -> dict[str, Any] | None:
    """The order's payment, to say what was refunded; none when payment is away."""
    if not order.get("paymentId"):
        return None
    try:
        answer = await call(request, "payment", "GET", f"/payments/{order['paymentId']}")
    except ServiceUnavailable:
        return None
    return answer.body if answer.ok else None


async def case_of(request: web.Request, order: dict[str, Any]) -> dict[str, Any] | None:
    if order.get("kind", "GOODS") != "GOODS" or order["status"] in ("NEW", "AWAITING_PAYMENT"):
        return None
    found = await call(request, "delivery", "GET", f"/cases/{order['id']}")
    return found.body if found.ok else None


def refusal(code: str, order: dict[str, Any]) -> str:
    """Why "Отменить заказ" did not work, said by the order as it is now (shown beside the
    button, also after the page follows the order on)."""
    now = lifecycle.status_word(order["status"])
    if code == "stale" and lifecycle.may_cancel(order):
        return (
            "Заказ изменился, пока вы смотрели на него: вот он сейчас. "
            "Отменить его ещё можно, если кнопка на месте."
        )
    if code == "stale":
        return (
            "Заказ изменился, пока вы смотрели на него: "
            f"отменить его уже нельзя, его статус — «{now}»."
        )
    if code == "refused":
        return f"Этот заказ уже нельзя отменить: его статус — «{now}»."
    return ""


async def order_context(request: web.Request, refused: str = "") -> dict[str, Any]:
    """The order (`GET /get`), its delivery case and payment, its path, and what may be
    done. `refused`: why the last cancel was refused (stale / refused), kept while the
    page follows the order."""
    order_id = request.match_info["id"]
    answer = await call(request, "order", "GET", "/get", params={"orderId": order_id})
    if answer.status in (400, 403, 404):
        raise web.HTTPNotFound()
    if not answer.ok:
        raise web.HTTPBadGateway(text=answer.error)
    order: dict[str, Any] = answer.body
    refused = refused or request.query.get("refused", "")
    pending = lifecycle.pending_cancellation(order)
    payment = await payment_of(request, order)
    return {
        "order": order,
        "case": await case_of(request, order),
        "payment": payment,
        "steps": lifecycle.steps(order),
        "names": await delivery_names(request, order.get("delivery")),
        "final": order["status"] in lifecycle.FINAL
        and not pending
        and not lifecycle.refund_awaited(order, payment),
        "cancellable": lifecycle.may_cancel(order),
        "pending": pending,
        "problem": refusal(refused, order),
        "refused": refused if refused in ("stale", "refused") else "",
        "words": lifecycle.STATUS_WORDS,
        "case_words": lifecycle.CASE_WORDS,
        "who": lifecycle.who_word,
        "notice": request.query.get("done", ""),
    }


async def show_order(request: web.Request) -> web.Response:
    await require_customer(request)
    return await render(request, "orders/order.html", await order_context(request))


async def live_part(request: web.Request) -> web.Response:
    """The changing part of the order page, which its JS fetches every 2 s until final."""
    await require_customer(request)
    context = {**await order_context(request), "refreshed": True}
    return await render(request, "orders/live.html", context)


async def cancel(request: web.Request) -> web.StreamResponse:
    """ "Отменить заказ" at the version the page showed (a paid order is refunded; after
    confirmation the cancellation goes through the saga, and the page follows it)."""
    await require_customer(request)
    order_id = request.match_info["id"]
    posted = await request.post()
    version = str(posted.get("version", ""))
    body = {"id": order_id, "version": int(version) if version.isdigit() else None}
    answer = await call(request, "order", "PUT", "/cancel", json=body)
    if answer.ok:
        raise web.HTTPSeeOther(f"/orders/{order_id}?done=cancelled")
    if answer.status not in (400, 409):
        raise web.HTTPBadGateway(text=answer.error)
    context = await order_context(request, "stale" if "version" in answer.error else "refused")
    return await render(request, "orders/order.html", context, status=409)


async def notifications(request: web.Request) -> web.Response:
    await require_customer(request)
    page = page_number(request)
    params = {"page": str(page - 1), "pageSize": "20"}
    answer = await call(request, "notification", "GET", "/notifications", params=params)
    found: dict[str, Any] = answer.body if answer.ok else {"items": [], "total": 0}
    context = {
        "items": found["items"],
        "page": page,
        "pages": max(1, math.ceil(found["total"] / 20)),
        "kinds": NOTIFICATION_WORDS,
        "channels": CHANNEL_WORDS,
        "sent": SENT_WORDS,
    }
    return await render(request, "orders/notifications.html", context)


def mount(app: web.Application) -> None:
    aiohttp_jinja2.get_env(app).filters["moscow_time"] = moscow_time
    aiohttp_jinja2.get_env(app).filters["reason_words"] = lifecycle.reason_words
    aiohttp_jinja2.get_env(app).filters["ru_date"] = ru_date
    app.router.add_get("/orders", list_orders)
    app.router.add_get("/orders/{id}", show_order)
    app.router.add_get("/orders/{id}/live", live_part)
    app.router.add_post("/orders/{id}/cancel", cancel)
    app.router.add_get("/notifications", notifications)
