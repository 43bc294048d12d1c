"""The order page's two forms: a status change along the machine (order_svc's admin
`PUT /admin/orders/{id}/status`) and a refund of a paid order (payment_svc's `POST /refunds`,
its Idempotency-Key a hidden field so a double click refunds once)."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from web_front.admin import labels
from web_front.admin.access import admin_only
from web_front.admin.orders import render_order
from web_front.edges import call
from web_front.forms import Form, read_form
from web_front.money import kopecks_from_text, rubles

REFUND_ERRORS = (
    ("exceeds", "amount", "Сумма больше, чем осталось вернуть по этому платежу"),
    ("nothing to refund", "amount", "По этому платежу уже нечего возвращать"),
    ("idempotency-key was used", "", "Форма устарела: откройте заказ заново"),
)


def back_to(request: web.Request, done: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/admin/orders/{request.match_info['id']}?done={quote(done)}")


@admin_only
async def change_status(request: web.Request) -> web.StreamResponse:
    form = await read_form(request, ("status", "reason"))
    if form.values["status"] not in labels.STATUS_NAMES:
        form.errors["status"] = "Выберите новый статус заказа"
        return await render_order(request, {"status": form}, status=400)
    body = {"status": form.values["status"], "reason": form.values["reason"] or None}
    path = f"/admin/orders/{quote(request.match_info['id'])}/status"
    answer = await call(request, "order", "PUT", path, json=body)
    if answer.status == 409:
        form.errors["status"] = (
            "Заказ нельзя перевести в этот статус: он уже изменился. "
            f"Проверьте текущий статус и выберите снова. ({answer.error})"
        )
        return await render_order(request, {"status": form}, status=409)
    if not answer.ok:
        form.edge_error(answer.error)
        return await render_order(request, {"status": form}, status=400)
    raise back_to(request, f"Статус заказа изменён: {labels.status_name(form.values['status'])}")


def refund_errors(form: Form, amount: int | None) -> None:
    if amount is None or amount <= 0:
        form.errors["amount"] = "Введите сумму возврата в рублях, например 150 или 150,50"
    if not form.values["reason"]:
        form.errors["reason"] = "Напишите причину возврата"


def place_refund_error(form: Form, message: str) -> None:
    lowered = message.lower()
    for needle, name, text in REFUND_ERRORS:
        if needle in lowered:
            form.errors[name] = text
            return
    form.edge_error(message)


@admin_only
async def refund(request: web.Request) -> web.StreamResponse:
    form = await read_form(request, ("paymentId", "amount", "reason", "key"))
    amount = kopecks_from_text(form.values["amount"])
    refund_errors(form, amount)
    if not form.ok:
        return await render_order(request, {"refund": form}, status=400)
    body = {
        "paymentId": form.values["paymentId"],
        "amount": amount,
        "reason": form.values["reason"],
    }
    answer = await call(request, "payment", "POST", "/refunds", json=body, key=form.values["key"])
    if not answer.ok:
        place_refund_error(form, answer.error)
        return await render_order(request, {"refund": form}, status=400)
    raise back_to(request, f"Возврат {rubles(amount)} оформлен: деньги вернутся тем же способом")


def mount(app: web.Application) -> None:
    app.router.add_post("/admin/orders/{id}/status", change_status)
    app.router.add_post("/admin/orders/{id}/refund", refund)
