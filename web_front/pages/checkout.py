""" "Оформить заказ" (001 §1 scenario 5): phone, pickup point or courier with an accepted
quote, then order_svc's `PUT /checkout` and on to the payment page. The page's JS only
enables the button early; every rule is checked here again."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiohttp import web

from servicekit.errors import ServiceUnavailable
from servicekit.neighbours import Answer
from web_front.cart import find_cart
from web_front.edges import call
from web_front.forms import Form, read_form
from web_front.pages.cart import require_customer
from web_front.render import render

FIELDS = (
    "phone", "delivery", "pointId", "address", "courierCompany", "quoteId", "cost",
    "confirmCost", "idempotencyKey", "orderId", "version",
)  # fmt: skip
MESSAGES = {
    "phone": "Введите номер телефона",
    "delivery": "Выберите способ доставки",
    "pointId": "Выберите пункт выдачи",
    "address": "Введите адрес доставки",
    "courierCompany": "Выберите курьерскую компанию",
}
EDGE_FIELDS = (  # order_svc's and delivery_svc's English errors -> field, Russian text
    ("phone", "phone", "Введите телефон: от 10 до 15 цифр, например +79991234567"),
    ("quote", "quoteId", "Стоимость доставки устарела: рассчитайте её ещё раз"),
    ("address", "address", "Проверьте адрес доставки"),
    ("courier", "courierCompany", "Выберите курьерскую компанию из списка"),
    ("point", "pointId", "Этот пункт выдачи недоступен: выберите другой"),
    ("version", "", "Корзина изменилась, пока вы оформляли заказ: проверьте данные ещё раз"),
)
IN_PROGRESS_WAITS = 20  # a double click: the second request waits for the first one's answer


def place_edge_error(form: Form, message: str) -> None:
    lowered = message.lower()
    for needle, name, text in EDGE_FIELDS:
        if needle in lowered:
            form.errors.setdefault(name, text)
            return
    form.edge_error(message)


async def choices(request: web.Request) -> dict[str, Any]:
    points = await call(request, "delivery", "GET", "/pickup-points")
    couriers = await call(request, "delivery", "GET", "/couriers")
    return {
        "points": points.body.get("items", []) if points.ok else [],
        "couriers": couriers.body.get("items", []) if couriers.ok else [],
    }


async def render_checkout(
    request: web.Request, cart: dict[str, Any], form: Form, status: int = 200
) -> web.Response:
    # a new key per drawn form: a double click repeats one key, a corrected form gets another
    form.values["idempotencyKey"] = str(uuid.uuid4())
    form.values.update(orderId=cart["id"], version=str(cart["version"]))
    context = {"cart": cart, "form": form, **(await choices(request))}
    return await render(request, "cart/checkout.html", context, status=status)


async def cart_to_check_out(request: web.Request) -> dict[str, Any]:
    cart = await find_cart(request)
    if cart is None or not cart.get("orderItems"):
        raise web.HTTPSeeOther("/cart")
    return cart


async def show(request: web.Request) -> web.Response:
    await require_customer(request)
    cart = await cart_to_check_out(request)
    me = await call(request, "auth", "GET", "/users/me")
    phone = str(me.body.get("phone", "")) if me.ok else ""
    return await render_checkout(request, cart, Form(values={"phone": phone, "delivery": ""}))


async def ask_quote(request: web.Request, form: Form) -> None:
    """delivery_svc's price for the typed address and company, kept in the form's values."""
    form.values.update(quoteId="", cost="", confirmCost="")
    form.require(("address", "courierCompany"), MESSAGES)
    if not form.ok:
        return
    body = {"address": form.values["address"], "courierCompany": form.values["courierCompany"]}
    answer = await call(request, "delivery", "POST", "/quotes", json=body, idempotent=True)
    if answer.ok:
        form.values.update(quoteId=answer.body["quoteId"], cost=str(answer.body["cost"]))
    else:
        place_edge_error(form, answer.error)


async def quote(request: web.Request) -> web.Response:
    """ "Рассчитать стоимость": the page's JS asks for the cost fragment; without JS the whole
    page comes back with the cost and the checkbox."""
    await require_customer(request)
    form = await read_form(request, FIELDS)
    form.values["delivery"] = "courier"
    await ask_quote(request, form)
    if request.headers.get("X-Requested-With") == "fetch":
        context = {"form": form}
        return await render(request, "cart/quote.html", context, status=200 if form.ok else 400)
    cart = await cart_to_check_out(request)
    return await render_checkout(request, cart, form, status=200 if form.ok else 400)


def delivery_of(form: Form) -> dict[str, Any] | None:
    """The delivery choice as order_svc wants it, or None with the errors in `form`."""
    values = form.values
    form.require(("phone", "delivery"), MESSAGES)
    if values["delivery"] == "pickup":
        form.require(("pointId",), MESSAGES)
        if form.ok and values["pointId"].isdigit():
            return {"type": "pickup", "pointId": int(values["pointId"])}
        form.errors.setdefault("pointId", MESSAGES["pointId"])
    elif values["delivery"] == "courier":
        form.require(("address", "courierCompany"), MESSAGES)
        if not (values["quoteId"] and values["cost"].isdigit()):
            form.errors.setdefault("quoteId", "Рассчитайте стоимость доставки")
        elif values["confirmCost"] != "yes":
            form.errors.setdefault("confirmCost", "Отметьте «подтвердить стоимость доставки»")
        if form.ok:
            keys = ("address", "courierCompany", "quoteId")
            return {"type": "courier", **{k: values[k] for k in keys}, "cost": int(values["cost"])}
    else:
        form.errors.setdefault("delivery", MESSAGES["delivery"])
    return None


async def put_checkout(request: web.Request, key: str, body: dict[str, Any]) -> Answer:
    """order_svc's `PUT /checkout` with the form's Idempotency-Key. A twin request still
    running answers 409 "in progress": wait for its answer."""
    for _ in range(IN_PROGRESS_WAITS):
        answer = await call(request, "order", "PUT", "/checkout", json=body, key=key)
        if not (answer.status == 409 and "in progress" in answer.error):
            return answer
        await asyncio.sleep(0.5)
    raise ServiceUnavailable("order is still checking out")


async def submit(request: web.Request) -> web.StreamResponse:
    """ "Оплатить заказ": check out, then pay (or say the stock ran short). The order and its
    version come from the drawn form, so a double click replays the first answer."""
    await require_customer(request)
    form = await read_form(request, FIELDS)
    delivery = delivery_of(form)
    if delivery is None or not form.values["orderId"] or not form.values["version"].isdigit():
        cart = await cart_to_check_out(request)
        return await render_checkout(request, cart, form, status=400)
    body = {
        "id": form.values["orderId"],
        "version": int(form.values["version"]),
        "phone": form.values["phone"],
        "delivery": delivery,
    }
    answer = await put_checkout(request, form.values["idempotencyKey"] or str(uuid.uuid4()), body)
    if not answer.ok:
        place_edge_error(form, answer.error)
        cart = await cart_to_check_out(request)
        return await render_checkout(request, cart, form, status=400)
    if answer.body["status"] == "FAILED":
        return await render(request, "cart/failed.html", {"order": answer.body})
    raise web.HTTPSeeOther(f"/pay/{answer.body['id']}")


def mount(app: web.Application) -> None:
    app.router.add_get("/checkout", show)
    app.router.add_post("/checkout", submit)
    app.router.add_post("/checkout/quote", quote)
