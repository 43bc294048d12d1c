"""The order page's two ways to undo an order: cancel it (any time until it is delivered; after
the saga confirmed it, orchestra gives the goods back, cancels the delivery and refunds) and
accept the return of a delivered one (refunded; its goods restocked or written off)."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from web_front.admin import labels
from web_front.admin.access import admin_only
from web_front.admin.order_actions import back_to
from web_front.admin.orders import render_order
from web_front.edges import call
from web_front.forms import Form, read_form

# the field names differ from the refund form's "reason" on the same page
REASONS = {
    "cancel": ("cancelReason", "Напишите причину отмены: её увидит покупатель"),
    "return": ("returnReason", "Напишите, почему покупатель вернул заказ"),
}


async def refused(
    request: web.Request, name: str, form: Form, status: int, error: str
) -> web.Response:
    """The edge said no: 409 names the order's current status; the page is drawn again for
    the order as it is now, the typed reason kept."""
    if status == 409:
        form.errors[REASONS[name][0]] = (
            f"Сейчас так нельзя: заказ изменился ({error}). Проверьте его статус."
        )
    else:
        form.edge_error(error)
    return await render_order(request, {name: form}, status=409 if status == 409 else 400)


@admin_only
async def cancel(request: web.Request) -> web.StreamResponse:
    form = await read_form(request, ("cancelReason",))
    form.require(("cancelReason",), {"cancelReason": REASONS["cancel"][1]})
    if not form.ok:
        return await render_order(request, {"cancel": form}, status=400)
    body = {"status": "CANCELLED", "reason": form.values["cancelReason"]}
    path = f"/admin/orders/{quote(request.match_info['id'])}/status"
    answer = await call(request, "order", "PUT", path, json=body)
    if not answer.ok:
        return await refused(request, "cancel", form, answer.status, answer.error)
    if answer.body["status"] == "CANCELLED":
        raise back_to(request, "Заказ отменён")
    raise back_to(request, "Отмена оформляется: товар вернётся на склад, деньги — покупателю")


@admin_only
async def accept_return(request: web.Request) -> web.StreamResponse:
    form = await read_form(request, ("returnReason", "disposition"))
    form.require(("returnReason",), {"returnReason": REASONS["return"][1]})
    if form.values["disposition"] not in labels.DISPOSITIONS:
        form.errors["disposition"] = "Выберите, что делать с товаром"
    if not form.ok:
        return await render_order(request, {"return": form}, status=400)
    body = {"reason": form.values["returnReason"], "disposition": form.values["disposition"]}
    path = f"/admin/orders/{quote(request.match_info['id'])}/return"
    answer = await call(request, "order", "POST", path, json=body)
    if not answer.ok:
        return await refused(request, "return", form, answer.status, answer.error)
    if answer.body["status"] == "RETURNED":
        raise back_to(request, "Возврат принят: заказ возвращён")
    raise back_to(request, "Возврат принят и оформляется: деньги вернутся покупателю")


def mount(app: web.Application) -> None:
    app.router.add_post("/admin/orders/{id}/cancel", cancel)
    app.router.add_post("/admin/orders/{id}/return", accept_return)
