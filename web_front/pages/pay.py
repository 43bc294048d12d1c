"""The payment page (001 §1 scenario 6): the order's total, the customer's means (saved cards,
another card, SBP, wallet, gift cards), "Оплатить" -> payment's `POST /pay`, then the result
followed live: "Оплачено" and the order handed to the saga, or the error with "Изменить заказ" /
"Попробовать снова". SBP shows the QR code and waits for the bank."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from aiohttp import web

from web_front.edges import call, visitor
from web_front.forms import Form, read_form
from web_front.pay_views import (
    means_options,
    payment_error_text,
    status_name,
    wants_hand_over,
)
from web_front.paying import CARD_FIELDS, TEST_CARD_HINT, means_body
from web_front.render import render

# the payment page follows the order until its saga's outcome; picking and delivery are
# followed on the order's own page
FINAL_ORDER = {
    "CONFIRMED", "ASSEMBLING", "READY_FOR_PICKUP", "DELIVERING", "COMPLETED", "CANCELLED",
    "RETURNED", "FAILED",
}  # fmt: skip


async def must_be_customer(request: web.Request) -> None:
    if not (await visitor(request)).is_customer:
        raise web.HTTPSeeOther(f"/login?next={request.path_qs}")


async def order_of(request: web.Request) -> dict[str, Any]:
    order_id = request.match_info["orderId"]
    answer = await call(request, "order", "GET", "/get", params={"orderId": order_id})
    if not answer.ok:
        raise web.HTTPNotFound()
    body: dict[str, Any] = answer.body
    return body


async def render_pay(
    request: web.Request, order: dict[str, Any], form: Form, status: int = 200
) -> web.Response:
    """The form; a fresh Idempotency-Key per render, kept when the form comes back with errors
    (the same attempt), new when the person pays again after a result."""
    means = await call(request, "payment", "GET", "/means", params={"orderId": order["id"]})
    if not means.ok:
        raise web.HTTPNotFound()
    form.values.setdefault("key", str(uuid.uuid4()))
    context = {
        "order": order,
        "options": means_options(means.body, order["total"]),
        "form": form,
        "card_hint": TEST_CARD_HINT,
        "status_name": status_name(order["status"]),
    }
    return await render(request, "pay/pay.html", context, status=status)


async def pay_page(request: web.Request) -> web.StreamResponse:
    await must_be_customer(request)
    order = await order_of(request)
    if order["status"] != "AWAITING_PAYMENT" and order.get("paymentId"):
        raise web.HTTPSeeOther(result_url(order["id"], order["paymentId"]))
    return await render_pay(request, order, Form(values={"means": request.query.get("means", "")}))


def result_url(order_id: str, payment_id: str) -> str:
    return f"/pay/{order_id}/payments/{payment_id}"


async def submit(request: web.Request) -> web.StreamResponse:
    """ "Оплатить": a 4xx about the typed card comes back beside its field; a refusal (409,
    a failed charge) shows the error with the two options; anything else follows the payment."""
    await must_be_customer(request)
    form = await read_form(request, ("means", "key", *CARD_FIELDS))
    order = await order_of(request)
    means = means_body(form, date.today())
    if means is None:
        return await render_pay(request, order, form, status=400)
    body = {"orderId": order["id"], **means}
    answer = await call(request, "payment", "POST", "/pay", json=body, key=form.values["key"])
    if answer.status == 409:
        return await render_failed(request, order, payment_error_text(answer.error))
    if not answer.ok:
        form.errors[""] = payment_error_text(answer.error)
        return await render_pay(request, order, form, status=400)
    raise web.HTTPSeeOther(result_url(order["id"], answer.body["paymentId"]))


async def render_failed(request: web.Request, order: dict[str, Any], error: str) -> web.Response:
    context = {"order": order, "error": error}
    return await render(request, "pay/failed.html", context, status=409)


async def payment_of(request: web.Request) -> dict[str, Any]:
    payment_id = request.match_info["paymentId"]
    answer = await call(request, "payment", "GET", f"/payments/{payment_id}")
    if not answer.ok or answer.body["orderId"] != request.match_info["orderId"]:
        raise web.HTTPNotFound()
    body: dict[str, Any] = answer.body
    return body


async def hand_over(request: web.Request, order: dict[str, Any]) -> dict[str, Any]:
    """A paid goods order goes to the saga (`PUT /process` with its version, as 001 has the
    client do). Safe to repeat: a second call meets the version or the status moved on, 409."""
    body = {"id": order["id"], "version": order["version"]}
    answer = await call(request, "order", "PUT", "/process", json=body, idempotent=False)
    return dict(answer.body) if answer.ok else await order_of(request)


async def live_context(request: web.Request) -> dict[str, Any]:
    payment = await payment_of(request)
    order = await order_of(request)
    if wants_hand_over(payment, order):
        order = await hand_over(request, order)
    final = payment["status"] == "FAILED" or (
        payment["status"] == "SUCCEEDED" and order["status"] in FINAL_ORDER
    )
    return {
        "payment": payment,
        "order": order,
        "final": final,
        "error": payment_error_text(payment.get("errorMessage") or ""),
        "status_name": status_name,
        "live_url": f"{result_url(order['id'], payment['paymentId'])}/live",
    }


async def result(request: web.Request) -> web.Response:
    await must_be_customer(request)
    return await render(request, "pay/result.html", await live_context(request))


async def live(request: web.Request) -> web.Response:
    """The part of the result page that changes, re-fetched by static/follow.js."""
    await must_be_customer(request)
    return await render(request, "pay/live.html", await live_context(request))


async def qr_svg(request: web.Request, payment: dict[str, Any]) -> web.Response:
    """payment's QR picture through web_front: the browser only talks to this origin."""
    answer = await call(request, "payment", "GET", f"/payments/{payment['paymentId']}/qr.svg")
    if not answer.ok:
        raise web.HTTPNotFound()
    return web.Response(text=str(answer.body), content_type="image/svg+xml")


async def bank_app_scan(request: web.Request, payment: dict[str, Any]) -> None:
    """What the customer's bank app does when the QR code is scanned (the simulator's
    `POST /qr/{qrId}/pay`); the bank then tells payment, and the page follows."""
    await read_form(request, ())
    qr = payment.get("qr")
    if qr and payment["status"] == "PENDING":
        # 409 = paid already (a second click): fine
        await call(request, "bank", "POST", f"/qr/{qr['qrId']}/pay", json={})


async def qr_picture(request: web.Request) -> web.Response:
    await must_be_customer(request)
    return await qr_svg(request, await payment_of(request))


async def bank_app_pays(request: web.Request) -> web.StreamResponse:
    """ "Оплатить в приложении банка (симулятор)" on the payment page."""
    await must_be_customer(request)
    payment = await payment_of(request)
    await bank_app_scan(request, payment)
    raise web.HTTPSeeOther(result_url(payment["orderId"], payment["paymentId"]))


def mount(app: web.Application) -> None:
    base = "/pay/{orderId}"
    app.router.add_get(base, pay_page)
    app.router.add_post(base, submit)
    app.router.add_get(base + "/payments/{paymentId}", result)
    app.router.add_get(base + "/payments/{paymentId}/live", live)
    app.router.add_get(base + "/payments/{paymentId}/qr.svg", qr_picture)
    app.router.add_post(base + "/payments/{paymentId}/bank-app", bank_app_pays)
